using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

/// <summary>Central finite differences over float inputs, evaluated in double.</summary>
internal static class GradientCheck
{
    /// <summary>
    /// d f / d x_i by central differences. The step actually taken is recomputed from the rounded floats,
    /// so float rounding of x +- h does not bias the quotient.
    /// </summary>
    public static double[] Numeric(float[] x, Func<double> f, float h = 1e-2f)
    {
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            float original = x[i];
            float plus = original + h, minus = original - h;
            x[i] = plus;
            double fPlus = f();
            x[i] = minus;
            double fMinus = f();
            x[i] = original;
            g[i] = (fPlus - fMinus) / ((double)plus - minus);
        }
        return g;
    }

    /// <summary>|analytic - numeric| &lt;= tolerance * (1 + |numeric|) for every component.</summary>
    public static void AssertClose(ReadOnlySpan<float> analytic, double[] numeric, double tolerance, string what)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        for (int i = 0; i < numeric.Length; i++)
        {
            double error = Math.Abs(analytic[i] - numeric[i]);
            Assert.True(error <= tolerance * (1 + Math.Abs(numeric[i])),
                $"{what}[{i}]: analytic {analytic[i]:R}, numeric {numeric[i]:R}, error {error:E2}");
        }
    }

    public static float[] RandomVector(ref Rng rng, int n, double low, double high)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)rng.Uniform(low, high);
        return v;
    }
}
