using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RLMesh.Core.Nn;

/// <summary>
/// Single-threaded, deterministic float32 matrix products on row-major spans with leading dimensions:
/// C[m,n] (+)= op(A)·op(B). AVX2+FMA register-blocked kernels (4x16 and 1x32 tiles, masked column tails)
/// with K blocking; a scalar path where AVX2/FMA are missing. The summation order depends only on the
/// shapes, so equal inputs give bit-identical outputs.
/// </summary>
public static unsafe class Gemm
{
    // K block: 64 rows of a 64-wide B (16 KB) plus the matching A block stay in L1 while the row tiles sweep
    // over them; with 256, Aᵀ·B over a 2,560-row batch streamed from L2 and ran ~3x slower.
    private const int KBlock = 64;

    [ThreadStatic] private static float[]? t_pack;
    [ThreadStatic] private static float[]? t_narrow;

    // Lets tests cover the scalar fallback on AVX2 machines; thread-local so parallel tests do not interfere.
    [ThreadStatic] internal static bool t_forceScalar;

    /// <summary>True when the AVX2 + FMA kernels are used on this machine.</summary>
    public static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>C[m,n] (+)= A[m,k]·B[k,n], all contiguous.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
        => Multiply(a, k, b, n, c, n, m, n, k, accumulate);

    /// <summary>C[m,n] (+)= A[m,k]·B[k,n] with leading dimensions (row strides) lda, ldb, ldc.</summary>
    public static void Multiply(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc,
        int m, int n, int k, bool accumulate)
    {
        Check(a.Length, m, k, lda, nameof(a));
        Check(b.Length, k, n, ldb, nameof(b));
        Check(c.Length, m, n, ldc, nameof(c));
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
            Core(pa, lda, 1, pb, ldb, pc, ldc, m, n, k, accumulate);
    }

    /// <summary>C[m,n] (+)= Aᵀ·B where A is stored [k,m] and B [k,n], contiguous.</summary>
    public static void MultiplyTransposeA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
        => MultiplyTransposeA(a, m, b, n, c, n, m, n, k, accumulate);

    /// <summary>C[m,n] (+)= Aᵀ·B where A is stored [k,m] (row stride lda) and B [k,n] (row stride ldb).</summary>
    public static void MultiplyTransposeA(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc,
        int m, int n, int k, bool accumulate)
    {
        Check(a.Length, k, m, lda, nameof(a));
        Check(b.Length, k, n, ldb, nameof(b));
        Check(c.Length, m, n, ldc, nameof(c));
        if (n < 8 && m >= 16 && k > 0 && IsAccelerated && !t_forceScalar)
        {
            // Narrow output (a head's dW = Hᵀ·dY with 1-2 columns): masked 8-wide tiles would waste most lanes,
            // so compute Cᵀ[n,m] = dYᵀ·H with full-width tiles into scratch and transpose it into C.
            float[] ct = Scratch(ref t_narrow, n * m);
            fixed (float* pa = a) fixed (float* pb = b) fixed (float* pt = ct)
                Core(pb, 1, ldb, pa, lda, pt, m, n, m, k, accumulate: false);
            for (int i = 0; i < m; i++)
            {
                Span<float> row = c.Slice(i * ldc, n);
                for (int j = 0; j < n; j++) row[j] = accumulate ? row[j] + ct[j * m + i] : ct[j * m + i];
            }
            return;
        }
        // Aᵀ[i,p] = A[p,i]: same kernel, swapped strides (the kernel only broadcasts single A elements).
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
            Core(pa, 1, lda, pb, ldb, pc, ldc, m, n, k, accumulate);
    }

    /// <summary>C[m,n] (+)= A·Bᵀ where A is stored [m,k] and B [n,k], contiguous.</summary>
    public static void MultiplyTransposeB(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
        => MultiplyTransposeB(a, k, b, k, c, n, m, n, k, accumulate);

    /// <summary>C[m,n] (+)= A·Bᵀ where A is stored [m,k] (row stride lda) and B [n,k] (row stride ldb).</summary>
    public static void MultiplyTransposeB(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc,
        int m, int n, int k, bool accumulate)
    {
        Check(a.Length, m, k, lda, nameof(a));
        Check(b.Length, n, k, ldb, nameof(b));
        Check(c.Length, m, n, ldc, nameof(c));
        // Bᵀ is packed once into a [k,n] scratch so the row kernel can stream contiguous B rows. In our use B is
        // a weight matrix (at most a few thousand floats) while A has thousands of rows, so packing is noise.
        float[] pack = Scratch(ref t_pack, k * n);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<float> row = b.Slice(j * ldb, k);
            for (int q = 0; q < k; q++) pack[q * n + j] = row[q];
        }
        fixed (float* pa = a) fixed (float* pb = pack) fixed (float* pc = c)
            Core(pa, lda, 1, pb, n, pc, ldc, m, n, k, accumulate);
    }

    private static float[] Scratch(ref float[]? buffer, int length) =>
        buffer is { } b && b.Length >= length ? b : (buffer = new float[Math.Max(length, 4096)]);

    private static void Check(int length, int rows, int cols, int ld, string name)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(name, "Dimensions must be non-negative.");
        if (ld < cols) throw new ArgumentException($"Leading dimension {ld} of '{name}' is smaller than its {cols} columns.", name);
        if (rows > 0 && cols > 0 && (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"'{name}' has {length} elements, a [{rows},{cols}] matrix with stride {ld} needs {(long)(rows - 1) * ld + cols}.", name);
    }

    // A element (i,p) lives at a[i*ars + p*acs]; B element (p,j) at b[p*ldb + j] (contiguous along j).
    private static void Core(float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, int m, int n, int k, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) new Span<float>(c + (long)i * ldc, n).Clear();
            return;
        }
        if (!IsAccelerated || t_forceScalar)
        {
            Scalar(a, ars, acs, b, ldb, c, ldc, m, n, k, accumulate);
            return;
        }
        if (n < 8 && acs == 1 && k >= 16 && n * k <= 4096)
        {
            NarrowDot(a, ars, b, ldb, c, ldc, m, n, k, accumulate);
            return;
        }
        Vector256<float> tailMask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n & 7)).AsSingle();
        for (int k0 = 0; k0 < k; k0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - k0);
            bool add = accumulate || k0 > 0;
            float* ak = a + (long)k0 * acs;
            float* bk = b + (long)k0 * ldb;
            int i = 0;
            for (; i + 4 <= m; i += 4)
                Rows4(ak + (long)i * ars, ars, acs, bk, ldb, c + (long)i * ldc, ldc, n, kc, add, tailMask);
            for (; i < m; i++)
                Row1(ak + (long)i * ars, acs, bk, ldb, c + (long)i * ldc, n, kc, add, tailMask);
        }
    }

    private static void Rows4(float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, int n, int kc, bool add, Vector256<float> tailMask)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        int j = 0;
        for (; j + 16 <= n; j += 16)
        {
            Vector256<float> x00, x01, x10, x11, x20, x21, x30, x31;
            if (add)
            {
                x00 = Avx.LoadVector256(c0 + j); x01 = Avx.LoadVector256(c0 + j + 8);
                x10 = Avx.LoadVector256(c1 + j); x11 = Avx.LoadVector256(c1 + j + 8);
                x20 = Avx.LoadVector256(c2 + j); x21 = Avx.LoadVector256(c2 + j + 8);
                x30 = Avx.LoadVector256(c3 + j); x31 = Avx.LoadVector256(c3 + j + 8);
            }
            else
            {
                x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = Vector256<float>.Zero;
            }
            float* pa = a;
            float* pb = b + j;
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> b0 = Avx.LoadVector256(pb), b1 = Avx.LoadVector256(pb + 8);
                Vector256<float> a0 = Vector256.Create(pa[0]);
                x00 = Fma.MultiplyAdd(a0, b0, x00); x01 = Fma.MultiplyAdd(a0, b1, x01);
                Vector256<float> a1 = Vector256.Create(pa[ars]);
                x10 = Fma.MultiplyAdd(a1, b0, x10); x11 = Fma.MultiplyAdd(a1, b1, x11);
                Vector256<float> a2 = Vector256.Create(pa[2 * ars]);
                x20 = Fma.MultiplyAdd(a2, b0, x20); x21 = Fma.MultiplyAdd(a2, b1, x21);
                Vector256<float> a3 = Vector256.Create(pa[3 * ars]);
                x30 = Fma.MultiplyAdd(a3, b0, x30); x31 = Fma.MultiplyAdd(a3, b1, x31);
                pa += acs;
                pb += ldb;
            }
            Avx.Store(c0 + j, x00); Avx.Store(c0 + j + 8, x01);
            Avx.Store(c1 + j, x10); Avx.Store(c1 + j + 8, x11);
            Avx.Store(c2 + j, x20); Avx.Store(c2 + j + 8, x21);
            Avx.Store(c3 + j, x30); Avx.Store(c3 + j + 8, x31);
        }
        for (; j + 8 <= n; j += 8)
            Rows4x8(a, ars, acs, b + j, ldb, c + j, ldc, kc, add, Vector256<float>.AllBitsSet);
        if (j < n)
            Rows4x8(a, ars, acs, b + j, ldb, c + j, ldc, kc, add, tailMask);
    }

    // 4 rows x up to 8 columns; the mask selects the live columns (all of them except at the ragged right edge).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4x8(float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, int kc, bool add, Vector256<float> mask)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        Vector256<float> x0, x1, x2, x3;
        if (add)
        {
            x0 = Avx.MaskLoad(c0, mask); x1 = Avx.MaskLoad(c1, mask);
            x2 = Avx.MaskLoad(c2, mask); x3 = Avx.MaskLoad(c3, mask);
        }
        else
        {
            x0 = x1 = x2 = x3 = Vector256<float>.Zero;
        }
        float* pa = a;
        float* pb = b;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Avx.MaskLoad(pb, mask);
            x0 = Fma.MultiplyAdd(Vector256.Create(pa[0]), b0, x0);
            x1 = Fma.MultiplyAdd(Vector256.Create(pa[ars]), b0, x1);
            x2 = Fma.MultiplyAdd(Vector256.Create(pa[2 * ars]), b0, x2);
            x3 = Fma.MultiplyAdd(Vector256.Create(pa[3 * ars]), b0, x3);
            pa += acs;
            pb += ldb;
        }
        Avx.MaskStore(c0, mask, x0); Avx.MaskStore(c1, mask, x1);
        Avx.MaskStore(c2, mask, x2); Avx.MaskStore(c3, mask, x3);
    }

    // A single row (batch-1 inference, ragged bottom edge): 32-column tiles with two K-interleaved accumulator
    // sets, so 8 independent FMA chains hide the FMA latency that a 1-row product is otherwise bound by.
    private static void Row1(float* a, int acs, float* b, int ldb, float* c, int n, int kc, bool add, Vector256<float> tailMask)
    {
        int j = 0;
        for (; j + 32 <= n; j += 32)
        {
            Vector256<float> x0, x1, x2, x3;
            if (add)
            {
                x0 = Avx.LoadVector256(c + j); x1 = Avx.LoadVector256(c + j + 8);
                x2 = Avx.LoadVector256(c + j + 16); x3 = Avx.LoadVector256(c + j + 24);
            }
            else
            {
                x0 = x1 = x2 = x3 = Vector256<float>.Zero;
            }
            Vector256<float> y0 = Vector256<float>.Zero, y1 = y0, y2 = y0, y3 = y0;
            float* pa = a;
            float* pb = b + j;
            int p = 0;
            for (; p + 2 <= kc; p += 2)
            {
                Vector256<float> s = Vector256.Create(pa[0]);
                x0 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb), x0);
                x1 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb + 8), x1);
                x2 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb + 16), x2);
                x3 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb + 24), x3);
                Vector256<float> t = Vector256.Create(pa[acs]);
                float* qb = pb + ldb;
                y0 = Fma.MultiplyAdd(t, Avx.LoadVector256(qb), y0);
                y1 = Fma.MultiplyAdd(t, Avx.LoadVector256(qb + 8), y1);
                y2 = Fma.MultiplyAdd(t, Avx.LoadVector256(qb + 16), y2);
                y3 = Fma.MultiplyAdd(t, Avx.LoadVector256(qb + 24), y3);
                pa += 2 * acs;
                pb += 2 * ldb;
            }
            if (p < kc)
            {
                Vector256<float> s = Vector256.Create(pa[0]);
                x0 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb), x0);
                x1 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb + 8), x1);
                x2 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb + 16), x2);
                x3 = Fma.MultiplyAdd(s, Avx.LoadVector256(pb + 24), x3);
            }
            Avx.Store(c + j, x0 + y0); Avx.Store(c + j + 8, x1 + y1);
            Avx.Store(c + j + 16, x2 + y2); Avx.Store(c + j + 24, x3 + y3);
        }
        for (; j < n; j += 8)
        {
            Vector256<float> mask = j + 8 <= n ? Vector256<float>.AllBitsSet : tailMask;
            Vector256<float> x = add ? Avx.MaskLoad(c + j, mask) : Vector256<float>.Zero;
            float* pa = a;
            float* pb = b + j;
            for (int p = 0; p < kc; p++)
            {
                x = Fma.MultiplyAdd(Vector256.Create(pa[0]), Avx.MaskLoad(pb, mask), x);
                pa += acs;
                pb += ldb;
            }
            Avx.MaskStore(c + j, mask, x);
        }
    }

    // n < 8 output columns over long contiguous A rows (policy/value heads: [batch,64]·[64,1..7]): one 8-wide
    // dot product along k per output instead of a mostly-masked column tile. B's columns are packed so they are
    // contiguous along k too (stack buffer: n·k ≤ 4096 floats, no allocation).
    private static void NarrowDot(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k, bool accumulate)
    {
        float* bt = stackalloc float[n * k];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++) bt[j * k + p] = b[(long)p * ldb + j];
        int k8 = k & ~7;
        for (int i = 0; i < m; i++)
        {
            float* ai = a + (long)i * lda;
            float* ci = c + (long)i * ldc;
            for (int j = 0; j < n; j++)
            {
                float* bj = bt + j * k;
                Vector256<float> s0 = Vector256<float>.Zero, s1 = Vector256<float>.Zero;
                int p = 0;
                for (; p + 16 <= k8; p += 16)
                {
                    s0 = Fma.MultiplyAdd(Avx.LoadVector256(ai + p), Avx.LoadVector256(bj + p), s0);
                    s1 = Fma.MultiplyAdd(Avx.LoadVector256(ai + p + 8), Avx.LoadVector256(bj + p + 8), s1);
                }
                if (p < k8) s0 = Fma.MultiplyAdd(Avx.LoadVector256(ai + p), Avx.LoadVector256(bj + p), s0);
                float sum = Vector256.Sum(s0 + s1);
                for (p = k8; p < k; p++) sum += ai[p] * bj[p];
                ci[j] = accumulate ? ci[j] + sum : sum;
            }
        }
    }

    private static void Scalar(float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, int m, int n, int k, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            float* ci = c + (long)i * ldc;
            if (!accumulate) new Span<float>(ci, n).Clear();
            for (int p = 0; p < k; p++)
            {
                float aip = a[(long)i * ars + (long)p * acs];
                float* bp = b + (long)p * ldb;
                for (int j = 0; j < n; j++) ci[j] += aip * bp[j];
            }
        }
    }
}
