using System.Globalization;
using System.Text;

namespace RLMesh.Core.Envs;

/// <summary>
/// A Gymnasium-style space. Every element is exchanged as a flat float vector of <see cref="Size"/>
/// values (a Discrete index travels as one float holding the integer), which keeps the env API
/// allocation-free and uniform.
/// </summary>
public abstract record Space
{
    /// <summary>Number of floats in one flat element of this space.</summary>
    public abstract int Size { get; }

    /// <summary>True if the flat vector is a member of the space (right length, in range, integral where needed).</summary>
    public abstract bool Contains(ReadOnlySpan<float> value);

    /// <summary>Writes one uniformly drawn element (Box: see <see cref="Box.Sample(ref Rng, Span{float})"/>).</summary>
    public abstract void Sample(ref Rng rng, Span<float> destination);

    public float[] Sample(ref Rng rng)
    {
        var value = new float[Size];
        Sample(ref rng, value);
        return value;
    }

    private protected void CheckDestination(Span<float> destination)
    {
        if (destination.Length != Size)
            throw new ArgumentException($"{this} needs a destination of {Size} float(s), got {destination.Length}.", nameof(destination));
    }

    internal static string FormatFloat(float x)
    {
        if (float.IsPositiveInfinity(x)) return "inf";
        if (float.IsNegativeInfinity(x)) return "-inf";
        if (float.IsNaN(x)) return "nan";
        string s = x.ToString("R", CultureInfo.InvariantCulture);
        // Python prints whole floats with a trailing ".0".
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }
}

/// <summary>The integers {0, 1, ..., N-1}.</summary>
public sealed record Discrete : Space
{
    public Discrete(int N)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(N, 1);
        this.N = N;
    }

    public int N { get; }

    public override int Size => 1;

    public bool Contains(int index) => (uint)index < (uint)N;

    public override bool Contains(ReadOnlySpan<float> value)
        => value.Length == 1 && value[0] >= 0 && value[0] < N && value[0] == MathF.Floor(value[0]);

    public int SampleIndex(ref Rng rng) => rng.NextInt(N);

    public override void Sample(ref Rng rng, Span<float> destination)
    {
        CheckDestination(destination);
        destination[0] = rng.NextInt(N);
    }

    public void Deconstruct(out int n) => n = N;

    public override string ToString() => $"Discrete({N})";
}

/// <summary>The element type a <see cref="Box"/> declares (its values still travel as floats).</summary>
public enum BoxDType
{
    Float32,
    /// <summary>Integers 0..255, e.g. the 0/1 planes of a grid-world observation.</summary>
    UInt8,
}

/// <summary>
/// A box: element-wise bounds (infinities allowed) over a shape, stored flat in row-major order. Float32 by
/// default; <see cref="DType"/> <see cref="BoxDType.UInt8"/> declares integer elements within finite 0..255 bounds.
/// </summary>
public sealed record Box : Space
{
    private readonly float[] _low;
    private readonly float[] _high;
    private readonly int[] _shape;
    private readonly BoxDType _dtype;

    public Box(float[] Low, float[] High, int[] Shape)
    {
        ArgumentNullException.ThrowIfNull(Low);
        ArgumentNullException.ThrowIfNull(High);
        ArgumentNullException.ThrowIfNull(Shape);
        int size = 1;
        foreach (int d in Shape)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(d, 1, nameof(Shape));
            size = checked(size * d);
        }
        if (Low.Length != size || High.Length != size)
            throw new ArgumentException($"Box bounds must have {size} element(s) for shape {FormatShape(Shape)}; got low {Low.Length}, high {High.Length}.");
        for (int i = 0; i < size; i++)
        {
            if (float.IsNaN(Low[i]) || float.IsNaN(High[i]) || Low[i] > High[i])
                throw new ArgumentException($"Box bound {i} is invalid: low {Low[i]}, high {High[i]}.");
        }
        // Copies: a space is a value, callers must not be able to change it through their arrays.
        _low = (float[])Low.Clone();
        _high = (float[])High.Clone();
        _shape = (int[])Shape.Clone();
        Size = size;
    }

    /// <summary>Same bounds for every element, like Gymnasium's scalar-bound constructor.</summary>
    public Box(float low, float high, params int[] shape)
        : this(Fill(low, shape), Fill(high, shape), shape)
    {
    }

    /// <summary>The declared element type; setting UInt8 checks that the bounds are integers within 0..255.</summary>
    public BoxDType DType
    {
        get => _dtype;
        init
        {
            if (value == BoxDType.UInt8)
            {
                for (int i = 0; i < _low.Length; i++)
                {
                    if (!IsByte(_low[i]) || !IsByte(_high[i]))
                        throw new ArgumentException($"A uint8 Box needs integer bounds within 0..255; bound {i} is low {_low[i]}, high {_high[i]}.", nameof(DType));
                }
            }
            else if (value != BoxDType.Float32)
            {
                throw new ArgumentOutOfRangeException(nameof(DType), value, "Unknown Box dtype.");
            }
            _dtype = value;
        }
    }

    /// <summary>True for a uint8 box whose every element is 0 or 1 (a stack of boolean planes).</summary>
    public bool IsBinary
    {
        get
        {
            if (_dtype != BoxDType.UInt8) return false;
            foreach (float h in _high) if (h > 1f) return false;
            return true;
        }
    }

    public float[] Low => (float[])_low.Clone();
    public float[] High => (float[])_high.Clone();
    public int[] Shape => (int[])_shape.Clone();
    public ReadOnlySpan<float> LowSpan => _low;
    public ReadOnlySpan<float> HighSpan => _high;

    public override int Size { get; }

    public override bool Contains(ReadOnlySpan<float> value)
    {
        if (value.Length != Size) return false;
        for (int i = 0; i < value.Length; i++)
        {
            // Written so that NaN is rejected.
            if (!(value[i] >= _low[i] && value[i] <= _high[i])) return false;
            if (_dtype == BoxDType.UInt8 && value[i] != MathF.Floor(value[i])) return false;
        }
        return true;
    }

    /// <summary>
    /// Gymnasium's rule: uniform on bounded dimensions, normal on unbounded ones, shifted exponential on
    /// half-bounded ones.
    /// </summary>
    public override void Sample(ref Rng rng, Span<float> destination)
    {
        CheckDestination(destination);
        if (_dtype == BoxDType.UInt8)
        {
            // Gymnasium's integer rule: uniform over low..high inclusive.
            for (int i = 0; i < Size; i++) destination[i] = _low[i] + rng.NextInt((int)(_high[i] - _low[i]) + 1);
            return;
        }
        for (int i = 0; i < Size; i++)
        {
            float lo = _low[i], hi = _high[i];
            bool boundedBelow = !float.IsNegativeInfinity(lo), boundedAbove = !float.IsPositiveInfinity(hi);
            double x;
            if (boundedBelow && boundedAbove) x = rng.Uniform(lo, hi);
            else if (boundedBelow) x = lo - Math.Log(1.0 - rng.NextDouble());
            else if (boundedAbove) x = hi + Math.Log(1.0 - rng.NextDouble());
            else x = rng.NextGaussian();
            // Rounding to float32 may step just outside a bound.
            destination[i] = Math.Clamp((float)x, lo, hi);
        }
    }

    public void Deconstruct(out float[] Low, out float[] High, out int[] Shape)
    {
        Low = this.Low;
        High = this.High;
        Shape = this.Shape;
    }

    public bool Equals(Box? other)
        => other is not null && _dtype == other._dtype && _shape.AsSpan().SequenceEqual(other._shape)
           && _low.AsSpan().SequenceEqual(other._low) && _high.AsSpan().SequenceEqual(other._high);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(_dtype);
        foreach (int d in _shape) hash.Add(d);
        foreach (float x in _low) hash.Add(x);
        foreach (float x in _high) hash.Add(x);
        return hash.ToHashCode();
    }

    /// <summary>
    /// Gymnasium's format: <c>Box(-inf, inf, (4,), float32)</c>, <c>Box(0, 1, (10, 10, 4), uint8)</c>, or the
    /// arrays when bounds differ.
    /// </summary>
    public override string ToString()
        => _dtype == BoxDType.UInt8
            ? $"Box({FormatBound(_low, FormatInteger)}, {FormatBound(_high, FormatInteger)}, {FormatShape(_shape)}, uint8)"
            : $"Box({FormatBound(_low, FormatFloat)}, {FormatBound(_high, FormatFloat)}, {FormatShape(_shape)}, float32)";

    private static bool IsByte(float x) => x >= 0f && x <= 255f && x == MathF.Floor(x);

    private static string FormatInteger(float x) => ((int)x).ToString(CultureInfo.InvariantCulture);

    private static string FormatBound(float[] bound, Func<float, string> format)
    {
        bool uniform = true;
        for (int i = 1; i < bound.Length; i++) uniform &= bound[i].Equals(bound[0]);
        if (uniform) return format(bound[0]);
        var sb = new StringBuilder("[");
        for (int i = 0; i < bound.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(format(bound[i]));
        }
        return sb.Append(']').ToString();
    }

    private static string FormatShape(int[] shape)
        => shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    private static float[] Fill(float value, int[] shape)
    {
        int size = 1;
        foreach (int d in shape) size = checked(size * Math.Max(d, 1));
        var a = new float[size];
        Array.Fill(a, value);
        return a;
    }
}

/// <summary>Several independent Discrete branches; branch i takes values in [0, Nvec[i]).</summary>
public sealed record MultiDiscrete : Space
{
    private readonly int[] _nvec;

    public MultiDiscrete(int[] Nvec)
    {
        ArgumentNullException.ThrowIfNull(Nvec);
        if (Nvec.Length == 0) throw new ArgumentException("MultiDiscrete needs at least one branch.", nameof(Nvec));
        foreach (int n in Nvec) ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, nameof(Nvec));
        _nvec = (int[])Nvec.Clone();
    }

    public int[] Nvec => (int[])_nvec.Clone();

    public override int Size => _nvec.Length;

    public override bool Contains(ReadOnlySpan<float> value)
    {
        if (value.Length != _nvec.Length) return false;
        for (int i = 0; i < value.Length; i++)
        {
            if (!(value[i] >= 0 && value[i] < _nvec[i] && value[i] == MathF.Floor(value[i]))) return false;
        }
        return true;
    }

    public override void Sample(ref Rng rng, Span<float> destination)
    {
        CheckDestination(destination);
        for (int i = 0; i < _nvec.Length; i++) destination[i] = rng.NextInt(_nvec[i]);
    }

    public void Deconstruct(out int[] Nvec) => Nvec = this.Nvec;

    public bool Equals(MultiDiscrete? other) => other is not null && _nvec.AsSpan().SequenceEqual(other._nvec);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int n in _nvec) hash.Add(n);
        return hash.ToHashCode();
    }

    public override string ToString() => "MultiDiscrete([" + string.Join(' ', _nvec) + "])";
}
