using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Nn;
using RLMesh.Core.Tests.Algorithms;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

public class DistributionsTests
{
    // Float inputs, double internals, float results, h = 1e-2: truncation error ~h^2 |f'''| ~ 1e-4 and
    // rounding ~1e-7 |f| / h ~ 1e-5, so 2e-3 relative (to 1 + |numeric|) leaves a wide margin.
    private const double GradTolerance = 2e-3;

    private static float[] LogitsFromProbs(params double[] p)
        => p.Select(x => (float)(Math.Log(x) + 3.7)).ToArray(); // the shift must not matter

    // ---- Categorical ----

    [Fact]
    public void LogSoftmaxStaysFiniteAndNormalizedForHugeLogits()
    {
        float[] logits = [1000f, 1001f, 999f];
        var logProbs = new float[3];
        Categorical.LogSoftmax(logits, logProbs);
        Assert.All(logProbs, x => Assert.True(float.IsFinite(x)));
        Assert.Equal(1.0, logProbs.Sum(x => Math.Exp(x)), 6);
        Assert.Equal(1.0, logProbs[1] - logProbs[0], 5);
        // log softmax of (1, 0, -1) shifted: -log(1 + e^-1 + e^-2) for the largest.
        Assert.Equal(-Math.Log(1 + Math.Exp(-1) + Math.Exp(-2)), logProbs[1], 5);
    }

    [Fact]
    public void CategoricalEntropyMatchesHandComputedValues()
    {
        // p = (1/2, 1/4, 1/4): H = 1/2 ln 2 + 2 * 1/4 ln 4 = 1.5 ln 2.
        Assert.Equal(1.5 * Math.Log(2), Categorical.Entropy(LogitsFromProbs(0.5, 0.25, 0.25)), 5);
        // Uniform over 5: ln 5.
        Assert.Equal(Math.Log(5), Categorical.Entropy(new float[5]), 5);
        // A near-deterministic row has near-zero entropy, not NaN.
        Assert.Equal(0.0, Categorical.Entropy([0f, -200f, -300f]), 5);
    }

    [Fact]
    public void CategoricalKlMatchesAHandComputedValue()
    {
        // KL((1/2, 1/2) || (1/4, 3/4)) = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3).
        float kl = Categorical.Kl(LogitsFromProbs(0.5, 0.5), [0f, (float)Math.Log(3)]);
        Assert.Equal(0.5 * Math.Log(4.0 / 3.0), kl, 5);
    }

    [Fact]
    public void DecomposeAndKlFromLogProbsAgreeWithTheOneTermFunctions()
    {
        // The fused helpers the IMPALA loss uses must give what LogProb, Entropy and Kl give, for rows from
        // near-uniform to near-deterministic and huge offsets.
        var row = Gen.Choose(-40_000, 40_000).Select(x => x / 1000f).ArrayOf().Where(a => a.Length is >= 1 and <= 9);
        var gen = row.SelectMany(p => Gen.Choose(-40_000, 40_000).Select(x => x / 1000f).ArrayOf(p.Length).Select(q => (p, q)))
            .Zip(Gen.Choose(-1000, 1000));
        Prop.ForAll(Arb.From(gen), input =>
        {
            var ((current, behaviour), offset) = input;
            var shifted = current.Select(x => x + offset).ToArray();
            var logProbs = new float[current.Length];
            var probs = new float[current.Length];
            double entropy = Categorical.Decompose(shifted, logProbs, probs);
            for (int a = 0; a < current.Length; a++)
            {
                if (Math.Abs(logProbs[a] - Categorical.LogProb(shifted, a)) > 1e-4 * (1 + Math.Abs(logProbs[a]))) return false;
                if (Math.Abs(probs[a] - Math.Exp(Categorical.LogProb(shifted, a))) > 1e-6) return false;
            }
            float kl = Categorical.KlFromLogProbs(behaviour, logProbs);
            return Math.Abs(entropy - Categorical.Entropy(shifted)) <= 1e-5 * (1 + entropy)
                && Math.Abs(kl - Categorical.Kl(behaviour, shifted)) <= 1e-4 * (1 + kl)
                && Math.Abs(probs.Sum() - 1) <= 1e-5;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void CategoricalLogProbIsTheLogSoftmaxEntry()
    {
        var logits = LogitsFromProbs(0.1, 0.2, 0.7);
        Assert.Equal(Math.Log(0.2), Categorical.LogProb(logits, 1), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => Categorical.LogProb(logits, 3));
    }

    [Fact]
    public void KlOfADistributionWithItselfIsZeroEvenWithShiftedLogits()
    {
        var rng = new Rng(11);
        var p = GradientCheck.RandomVector(ref rng, 6, -4, 4);
        var shifted = p.Select(x => x + 12.5f).ToArray();
        Assert.Equal(0f, Categorical.Kl(p, p));
        Assert.Equal(0.0, Categorical.Kl(p, shifted), 5);

        var mean = GradientCheck.RandomVector(ref rng, 3, -2, 2);
        var logStd = GradientCheck.RandomVector(ref rng, 3, -1, 1);
        Assert.Equal(0f, DiagonalGaussian.Kl(mean, logStd, mean, logStd));
    }

    [Fact]
    public void KlIsNeverNegativeForRandomDistributions()
    {
        var cases = Gen.Zip(Gen.Choose(1, 8), Gen.Choose(0, int.MaxValue)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(cases, c =>
        {
            var (size, seed) = c;
            var rng = new Rng((ulong)seed);
            var p = GradientCheck.RandomVector(ref rng, size, -6, 6);
            var q = GradientCheck.RandomVector(ref rng, size, -6, 6);
            var pm = GradientCheck.RandomVector(ref rng, size, -3, 3);
            var ps = GradientCheck.RandomVector(ref rng, size, -2, 2);
            var qm = GradientCheck.RandomVector(ref rng, size, -3, 3);
            var qs = GradientCheck.RandomVector(ref rng, size, -2, 2);
            return Categorical.Kl(p, q) >= 0 && DiagonalGaussian.Kl(pm, ps, qm, qs) >= 0;
        }));
    }

    [Fact]
    public void CategoricalLogProbGradientMatchesFiniteDifferences()
    {
        var rng = new Rng(1);
        for (int trial = 0; trial < 5; trial++)
        {
            var logits = GradientCheck.RandomVector(ref rng, 5, -3, 3);
            for (int a = 0; a < logits.Length; a++)
            {
                var grad = new float[logits.Length];
                Categorical.AddLogProbGradient(logits, a, 1f, grad);
                var numeric = GradientCheck.Numeric(logits, () => Categorical.LogProb(logits, a));
                GradientCheck.AssertClose(grad, numeric, GradTolerance, $"dlogp({a})");
                Assert.Equal(0.0, grad.Sum(), 5); // onehot - softmax sums to zero
            }
        }
    }

    [Fact]
    public void CategoricalEntropyGradientMatchesFiniteDifferences()
    {
        var rng = new Rng(2);
        for (int trial = 0; trial < 10; trial++)
        {
            var logits = GradientCheck.RandomVector(ref rng, 1 + trial % 6, -3, 3);
            var grad = new float[logits.Length];
            Categorical.AddEntropyGradient(logits, 1f, grad);
            var numeric = GradientCheck.Numeric(logits, () => Categorical.Entropy(logits));
            GradientCheck.AssertClose(grad, numeric, GradTolerance, "dH");
        }
    }

    [Fact]
    public void CategoricalKlGradientsMatchFiniteDifferencesOnBothSides()
    {
        var rng = new Rng(3);
        for (int trial = 0; trial < 10; trial++)
        {
            var p = GradientCheck.RandomVector(ref rng, 4, -3, 3);
            var q = GradientCheck.RandomVector(ref rng, 4, -3, 3);
            var gp = new float[4];
            var gq = new float[4];
            Categorical.AddKlGradientWrtP(p, q, 1f, gp);
            Categorical.AddKlGradientWrtQ(p, q, 1f, gq);
            GradientCheck.AssertClose(gp, GradientCheck.Numeric(p, () => Categorical.Kl(p, q)), GradTolerance, "dKL/dp");
            GradientCheck.AssertClose(gq, GradientCheck.Numeric(q, () => Categorical.Kl(p, q)), GradTolerance, "dKL/dq");
        }
    }

    [Fact]
    public void GradientHelpersAccumulateScaledTerms()
    {
        float[] logits = [0.3f, -1.2f, 2.0f];
        var once = new float[3];
        Categorical.AddLogProbGradient(logits, 2, 1f, once);
        var accumulated = new float[] { 1f, 1f, 1f };
        Categorical.AddLogProbGradient(logits, 2, -2.5f, accumulated);
        for (int j = 0; j < 3; j++) Assert.Equal(1f - 2.5f * once[j], accumulated[j], 5);
    }

    [Fact]
    public void CategoricalSampleFrequenciesPassAChiSquareTest()
    {
        // Fixed seed, so this is deterministic; the bound is the 0.999 quantile of chi^2 with 3 degrees of
        // freedom (16.27): a correct sampler fails it for 1 seed in 1000.
        double[] p = [0.1, 0.2, 0.3, 0.4];
        var logits = LogitsFromProbs(p);
        var rng = new Rng(12345);
        const int n = 200_000;
        var counts = new int[4];
        for (int i = 0; i < n; i++) counts[Categorical.Sample(logits, ref rng)]++;
        double chi2 = 0;
        for (int k = 0; k < 4; k++)
        {
            double expected = n * p[k];
            chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
        }
        Assert.True(chi2 < 16.27, $"chi^2 = {chi2}, counts = {string.Join(",", counts)}");
    }

    [Fact]
    public void CategoricalSampleOnRowsTooBigForTheStackBufferHasTheRightFrequencies()
    {
        const int actions = 300;
        var rng = new Rng(77);
        var logits = GradientCheck.RandomVector(ref rng, actions, -1, 1);
        var probs = new float[actions];
        Categorical.Softmax(logits, probs);
        const int n = 300_000;
        var counts = new int[actions];
        for (int i = 0; i < n; i++) counts[Categorical.Sample(logits, ref rng)]++;
        double chi2 = 0;
        for (int k = 0; k < actions; k++)
        {
            double expected = n * (double)probs[k];
            chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
        }
        // 0.999 quantile of chi^2 with 299 degrees of freedom (Wilson-Hilferty): about 380.
        Assert.True(chi2 < 380, $"chi^2 = {chi2}");
    }

    [Fact]
    public void CategoricalSampleNeverPicksAMaskedAction()
    {
        float[] logits = [float.NegativeInfinity, 0.5f, float.NegativeInfinity, -0.5f];
        var rng = new Rng(5);
        for (int i = 0; i < 10_000; i++)
        {
            int a = Categorical.Sample(logits, ref rng);
            Assert.True(a == 1 || a == 3);
        }
    }

    [Fact]
    public void CategoricalSampleRejectsNanLogits()
    {
        var rng = new Rng(5);
        Assert.Throws<ArgumentException>(() => Categorical.Sample([0f, float.NaN], ref rng));
    }

    [Fact]
    public void GreedyPicksTheFirstLargestLogit()
    {
        Assert.Equal(2, Categorical.Greedy([0f, 1f, 3f, 3f, -1f]));
        Assert.Equal(0, Categorical.Greedy([7f]));
    }

    // ---- Diagonal Gaussian ----

    [Fact]
    public void GaussianLogProbMatchesAHandComputedValue()
    {
        // dim 0: N(0; 0, 1) -> -0.5 ln(2 pi) = -0.9189385
        // dim 1: N(3; 1, 2^2), z = 1 -> -0.5 - ln 2 - 0.9189385 = -2.1120857
        float lp = DiagonalGaussian.LogProb([0f, 1f], [0f, (float)Math.Log(2)], [0f, 3f]);
        Assert.Equal(-3.0310242, lp, 5);
    }

    [Fact]
    public void GaussianEntropyMatchesAHandComputedValue()
    {
        // 2 * 0.5 ln(2 pi e) + ln 2 = 2.8378771 + 0.6931472
        Assert.Equal(3.5310243, DiagonalGaussian.Entropy([0f, (float)Math.Log(2)]), 5);
    }

    [Fact]
    public void GaussianKlMatchesAHandComputedValue()
    {
        // KL(N(0, 1) || N(1, 2^2)) = ln 2 + (1 + 1) / 8 - 1/2 = 0.4431472
        float kl = DiagonalGaussian.Kl([0f], [0f], [1f], [(float)Math.Log(2)]);
        Assert.Equal(0.4431472, kl, 5);
    }

    [Fact]
    public void GaussianLogProbGradientsMatchFiniteDifferences()
    {
        var rng = new Rng(4);
        for (int trial = 0; trial < 10; trial++)
        {
            var mean = GradientCheck.RandomVector(ref rng, 3, -2, 2);
            var logStd = GradientCheck.RandomVector(ref rng, 3, -1, 1);
            var action = GradientCheck.RandomVector(ref rng, 3, -3, 3);
            var dMean = new float[3];
            var dLogStd = new float[3];
            DiagonalGaussian.AddLogProbGradient(mean, logStd, action, 1f, dMean, dLogStd);
            double F() => DiagonalGaussian.LogProb(mean, logStd, action);
            GradientCheck.AssertClose(dMean, GradientCheck.Numeric(mean, F), GradTolerance, "dlogp/dmean");
            GradientCheck.AssertClose(dLogStd, GradientCheck.Numeric(logStd, F), GradTolerance, "dlogp/dlogstd");
        }
    }

    [Fact]
    public void GaussianEntropyGradientMatchesFiniteDifferences()
    {
        float[] logStd = [-0.5f, 0.2f];
        var grad = new float[2];
        DiagonalGaussian.AddEntropyGradient(logStd, 1f, grad);
        GradientCheck.AssertClose(grad, GradientCheck.Numeric(logStd, () => DiagonalGaussian.Entropy(logStd)), GradTolerance, "dH");
    }

    [Fact]
    public void GaussianKlGradientsMatchFiniteDifferencesOnBothSides()
    {
        var rng = new Rng(6);
        for (int trial = 0; trial < 10; trial++)
        {
            var pm = GradientCheck.RandomVector(ref rng, 2, -2, 2);
            var ps = GradientCheck.RandomVector(ref rng, 2, -1, 1);
            var qm = GradientCheck.RandomVector(ref rng, 2, -2, 2);
            var qs = GradientCheck.RandomVector(ref rng, 2, -1, 1);
            var dpm = new float[2]; var dps = new float[2]; var dqm = new float[2]; var dqs = new float[2];
            DiagonalGaussian.AddKlGradientWrtP(pm, ps, qm, qs, 1f, dpm, dps);
            DiagonalGaussian.AddKlGradientWrtQ(pm, ps, qm, qs, 1f, dqm, dqs);
            double F() => DiagonalGaussian.Kl(pm, ps, qm, qs);
            GradientCheck.AssertClose(dpm, GradientCheck.Numeric(pm, F), GradTolerance, "dKL/dpMean");
            GradientCheck.AssertClose(dps, GradientCheck.Numeric(ps, F), GradTolerance, "dKL/dpLogStd");
            GradientCheck.AssertClose(dqm, GradientCheck.Numeric(qm, F), GradTolerance, "dKL/dqMean");
            GradientCheck.AssertClose(dqs, GradientCheck.Numeric(qs, F), GradTolerance, "dKL/dqLogStd");
        }
    }

    [Fact]
    public void GaussianSamplesHaveTheRequestedMeanAndStd()
    {
        float[] mean = [1.5f, -2f];
        float[] logStd = [(float)Math.Log(0.5), (float)Math.Log(3)];
        double[] std = [0.5, 3];
        var rng = new Rng(99);
        const int n = 200_000;
        var sum = new double[2];
        var sumSq = new double[2];
        var action = new float[2];
        for (int i = 0; i < n; i++)
        {
            DiagonalGaussian.Sample(mean, logStd, ref rng, action);
            for (int d = 0; d < 2; d++) { sum[d] += action[d]; sumSq[d] += (double)action[d] * action[d]; }
        }
        for (int d = 0; d < 2; d++)
        {
            double m = sum[d] / n;
            double s = Math.Sqrt(sumSq[d] / n - m * m);
            // 5 standard errors: sd(mean) = std / sqrt(n), sd(std estimate) ~ std / sqrt(2n).
            Assert.True(Math.Abs(m - mean[d]) < 5 * std[d] / Math.Sqrt(n), $"mean[{d}] = {m}");
            Assert.True(Math.Abs(s - std[d]) < 5 * std[d] / Math.Sqrt(2.0 * n), $"std[{d}] = {s}");
        }
    }
}
