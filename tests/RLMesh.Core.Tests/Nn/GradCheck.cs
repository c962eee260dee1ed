namespace RLMesh.Core.Tests.Nn;

/// <summary>Central finite differences on float32 parameters with the loss evaluated in double.</summary>
internal static class GradCheck
{
    /// <summary>
    /// d loss / d values[i] ≈ (L(v+h) − L(v−h)) / (actual float step), where the actual step is measured after
    /// rounding v±h to float so the quotient is not biased by the rounding of the perturbation itself.
    /// </summary>
    public static double Numeric(float[] values, int i, Func<double> loss, double h)
    {
        float original = values[i];
        float plus = (float)(original + h), minus = (float)(original - h);
        values[i] = plus;
        double lp = loss();
        values[i] = minus;
        double lm = loss();
        values[i] = original;
        return (lp - lm) / ((double)plus - minus);
    }

    /// <summary>Asserts |analytic − numeric| ≤ abs + rel·max(|analytic|, |numeric|) for every index; returns the worst ratio.</summary>
    public static double AssertClose(float[] values, ReadOnlySpan<float> analytic, Func<double> loss, double h, double abs, double rel, string what)
    {
        double worst = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double numeric = Numeric(values, i, loss, h);
            double tol = abs + rel * Math.Max(Math.Abs(analytic[i]), Math.Abs(numeric));
            double err = Math.Abs(analytic[i] - numeric);
            if (err > tol)
                throw new Xunit.Sdk.XunitException($"{what}[{i}]: analytic {analytic[i]:G9} vs numeric {numeric:G9} (err {err:G3} > tol {tol:G3})");
            worst = Math.Max(worst, err / tol);
        }
        return worst;
    }

    public static float[] Random(ulong seed, int length, double low = -1, double high = 1)
    {
        var rng = new Rng(seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.Uniform(low, high);
        return x;
    }

    public static double Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)w[i] * y[i];
        return s;
    }
}
