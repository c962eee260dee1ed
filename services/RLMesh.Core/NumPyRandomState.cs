using System.Runtime.CompilerServices;

namespace RLMesh.Core;

/// <summary>
/// NumPy's legacy <c>numpy.random.RandomState</c>: the MT19937 Mersenne Twister with NumPy's exact seeding and
/// its <c>rand</c> and <c>randint</c> algorithms, so ports of Python code that draws from a seeded RandomState
/// (MinAtar, for one) reproduce its draws bit for bit. Allocates its 624-word state once; seeding and drawing
/// never allocate.
/// </summary>
public sealed class NumPyRandomState
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908B0DFu;
    private const uint UpperMask = 0x80000000u;
    private const uint LowerMask = 0x7FFFFFFFu;

    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>Seeded as <c>RandomState(seed)</c>.</summary>
    public NumPyRandomState(ulong seed) => Seed(seed);

    /// <summary>
    /// Re-seeds in place. A seed below 2^32 uses MT19937's <c>init_genrand(seed)</c>, as <c>RandomState(seed)</c>
    /// does; NumPy rejects larger integers, so those use <c>init_by_array</c> of the low and high 32-bit words,
    /// which is what <c>RandomState([low, high])</c> does.
    /// </summary>
    public void Seed(ulong seed)
    {
        if (seed <= uint.MaxValue) InitGenrand((uint)seed);
        else InitByArray((uint)seed, (uint)(seed >> 32));
    }

    private void InitGenrand(uint seed)
    {
        var mt = _mt;
        mt[0] = seed;
        for (int i = 1; i < N; i++) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint)i;
        _index = N;
    }

    private void InitByArray(uint key0, uint key1)
    {
        ReadOnlySpan<uint> key = [key0, key1];
        var mt = _mt;
        InitGenrand(19650218u);
        int i = 1, j = 0;
        for (int k = Math.Max(N, key.Length); k > 0; k--)
        {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j;
            i++; j++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
            if (j >= key.Length) j = 0;
        }
        for (int k = N - 1; k > 0; k--)
        {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
        }
        mt[0] = 0x80000000u;
        _index = N;
    }

    /// <summary>The next raw 32-bit MT19937 output (<c>genrand_int32</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextUInt32()
    {
        if (_index >= N) Twist();
        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        y ^= y >> 18;
        return y;
    }

    private void Twist()
    {
        var mt = _mt;
        int k = 0;
        uint y;
        for (; k < N - M; k++)
        {
            y = (mt[k] & UpperMask) | (mt[k + 1] & LowerMask);
            mt[k] = mt[k + M] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        }
        for (; k < N - 1; k++)
        {
            y = (mt[k] & UpperMask) | (mt[k + 1] & LowerMask);
            mt[k] = mt[k + (M - N)] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        }
        y = (mt[N - 1] & UpperMask) | (mt[0] & LowerMask);
        mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        _index = 0;
    }

    /// <summary><c>rand()</c>: a double in [0, 1) from two outputs, 27 + 26 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Rand()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary><c>rand(size)</c>: fills the span with <see cref="Rand()"/> draws, in order.</summary>
    public void Rand(Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = Rand();
    }

    /// <summary>
    /// <c>randint(n)</c>: uniform in [0, n) by masked rejection (NumPy's legacy algorithm). <c>randint(1)</c>
    /// returns 0 without drawing, as NumPy does.
    /// </summary>
    public int RandInt(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "randint needs high > low (n >= 1).");
        uint max = (uint)(n - 1);
        if (max == 0) return 0;
        // Smallest all-ones mask covering max.
        uint mask = max;
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16;
        uint value;
        do value = NextUInt32() & mask; while (value > max);
        return (int)value;
    }

    /// <summary><c>randint(low, high)</c>: uniform in [low, high).</summary>
    public int RandInt(int low, int high)
    {
        if (high <= low)
            throw new ArgumentOutOfRangeException(nameof(high), high, $"randint needs high > low, got low {low}, high {high}.");
        return low + RandInt(checked(high - low));
    }

    /// <summary><c>randint(low, high, size)</c>: fills the span with draws in [low, high), in order.</summary>
    public void RandInt(int low, int high, Span<int> destination)
    {
        if (high <= low)
            throw new ArgumentOutOfRangeException(nameof(high), high, $"randint needs high > low, got low {low}, high {high}.");
        for (int i = 0; i < destination.Length; i++) destination[i] = low + RandInt(high - low);
    }
}
