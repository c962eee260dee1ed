using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

public class GemmTests
{
    private enum Variant { Plain, TransposeA, TransposeB }

    // Reference in double: C[i,j] (+)= Σ_p opA(i,p)·opB(p,j), over strided storage.
    // Also returns Σ|terms| per element: float summation error is bounded by ~k·u·Σ|terms| (u = 2^-24).
    private static void Naive(Variant v, float[] a, int lda, float[] b, int ldb, double[] c, double[] magnitude, int ldc, int m, int n, int k, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = accumulate ? c[i * ldc + j] : 0.0;
            double mag = Math.Abs(s);
            for (int p = 0; p < k; p++)
            {
                double x = v == Variant.TransposeA ? a[p * lda + i] : a[i * lda + p];
                double y = v == Variant.TransposeB ? b[j * ldb + p] : b[p * ldb + j];
                s += x * y;
                mag += Math.Abs(x * y);
            }
            c[i * ldc + j] = s;
            magnitude[i * ldc + j] = mag;
        }
    }

    private static float[] Random(ref Rng rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.Uniform(-1, 1);
        return x;
    }

    // Runs one case and returns the worst error as a fraction of the float32 summation bound
    // (k+1)·2^-24·Σ|terms| (so < 1 passes); padding between rows must stay untouched (NaN).
    private static double RunCase(Variant v, int m, int n, int k, int pad, bool accumulate, ulong seed)
    {
        var rng = new Rng(seed);
        (int aRows, int aCols) = v == Variant.TransposeA ? (k, m) : (m, k);
        (int bRows, int bCols) = v == Variant.TransposeB ? (n, k) : (k, n);
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        float[] a = Random(ref rng, Math.Max(0, aRows * lda));
        float[] b = Random(ref rng, Math.Max(0, bRows * ldb));
        float[] c = Random(ref rng, Math.Max(0, m * ldc));
        for (int i = 0; i < m; i++) for (int j = n; j < ldc; j++) c[i * ldc + j] = float.NaN;
        double[] want = c.Select(x => (double)x).ToArray();
        var magnitude = new double[want.Length];
        Naive(v, a, lda, b, ldb, want, magnitude, ldc, m, n, k, accumulate);
        switch (v)
        {
            case Variant.Plain: Gemm.Multiply(a, lda, b, ldb, c, ldc, m, n, k, accumulate); break;
            case Variant.TransposeA: Gemm.MultiplyTransposeA(a, lda, b, ldb, c, ldc, m, n, k, accumulate); break;
            default: Gemm.MultiplyTransposeB(a, lda, b, ldb, c, ldc, m, n, k, accumulate); break;
        }
        double worst = 0;
        for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++)
        {
            int idx = i * ldc + j;
            if (j >= n)
            {
                if (!float.IsNaN(c[idx])) return double.PositiveInfinity; // wrote outside the matrix
                continue;
            }
            double bound = (k + 1) * Math.Pow(2, -24) * magnitude[idx] + 1e-30;
            worst = Math.Max(worst, Math.Abs(c[idx] - want[idx]) / bound);
        }
        return worst;
    }

    [Fact]
    public void AllVariantsMatchNaiveLoopsForRandomShapesStridesAndAccumulateFlags()
    {
        var cases =
            from variant in Gen.Elements(Variant.Plain, Variant.TransposeA, Variant.TransposeB)
            from m in Gen.Choose(0, 37)
            from n in Gen.Choose(0, 41)
            from k in Gen.Choose(0, 45)
            from pad in Gen.Choose(0, 3)
            from accumulate in Gen.Elements(false, true)
            from seed in Gen.Choose(0, int.MaxValue)
            select (variant, m, n, k, pad, accumulate, seed);
        Prop.ForAll(cases.ToArbitrary(), t =>
                RunCase(t.variant, t.m, t.n, t.k, t.pad, t.accumulate, (ulong)t.seed) < 1)
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void TheScalarFallbackMatchesNaiveLoopsToo()
    {
        Gemm.t_forceScalar = true;
        try
        {
            foreach (Variant v in Enum.GetValues<Variant>())
            {
                Assert.True(RunCase(v, 13, 11, 9, 2, true, 4) < 1, v.ToString());
                Assert.True(RunCase(v, 5, 17, 300, 0, false, 5) < 1, v.ToString());
            }
        }
        finally
        {
            Gemm.t_forceScalar = false;
        }
    }

    [Theory]
    [InlineData(2560, 64, 64)]
    [InlineData(2560, 64, 2)]
    [InlineData(2560, 64, 1)]
    [InlineData(1, 4, 64)]
    [InlineData(3, 300, 29)]
    public void EveryVariantMatchesNaiveLoopsAtTheNetworkShapesIncludingKBeyondOneBlock(int m, int k, int n)
    {
        foreach (Variant v in Enum.GetValues<Variant>())
        {
            Assert.True(RunCase(v, m, n, k, 0, false, 1) < 1, $"{v} {m}x{k}x{n}");
            Assert.True(RunCase(v, m, n, k, 1, true, 2) < 1, $"{v} {m}x{k}x{n} accumulate");
        }
        // Backward's dW = Xᵀ·dY contracts over the 2,560-row batch: K spans ten blocks.
        Assert.True(RunCase(Variant.TransposeA, 64, 64, 2560, 0, true, 3) < 1);
    }

    [Fact]
    public void RepeatedProductsOfTheSameInputsAreBitIdentical()
    {
        var rng = new Rng(7);
        float[] a = Random(ref rng, 97 * 64), b = Random(ref rng, 64 * 45);
        var c1 = new float[97 * 45];
        var c2 = new float[97 * 45];
        Gemm.Multiply(a, b, c1, 97, 45, 64);
        Gemm.Multiply(a, b, c2, 97, 45, 64);
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void UndersizedOperandsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[5], new float[6], new float[4], 2, 2, 3));
    }
}
