using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Algorithms;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

public class VTraceTests
{
    /// <summary>A random [T, B] problem; discounts are sometimes exactly 0 (episode ends).</summary>
    private sealed record Problem(int T, int B, float[] LogRhos, float[] Discounts, float[] Rewards, float[] Values, float[] Bootstrap)
    {
        public static Problem Random(int T, int B, ulong seed, bool onPolicy)
        {
            var rng = new Rng(seed);
            int n = T * B;
            var logRhos = new float[n];
            var discounts = new float[n];
            for (int i = 0; i < n; i++)
            {
                logRhos[i] = onPolicy ? 0f : (float)rng.Uniform(-1.5, 1.5);
                discounts[i] = rng.NextDouble() < 0.15 ? 0f : (float)rng.Uniform(0.5, 1.0);
            }
            return new Problem(T, B, logRhos, discounts,
                GradientCheck.RandomVector(ref rng, n, -2, 2),
                GradientCheck.RandomVector(ref rng, n, -5, 5),
                GradientCheck.RandomVector(ref rng, B, -5, 5));
        }

        public (float[] Vs, float[] PgAdv) Run(VTraceOptions options)
        {
            var vs = new float[T * B];
            var pg = new float[T * B];
            VTrace.Compute(T, B, LogRhos, Discounts, Rewards, Values, Bootstrap, options, vs, pg);
            return (vs, pg);
        }

        public double Value(int t, int b) => t == T ? Bootstrap[b] : Values[t * B + b];
    }

    private static readonly Arbitrary<(int T, int B, int Seed)> Shapes =
        Gen.Zip(Gen.Zip(Gen.Choose(1, 12), Gen.Choose(1, 4)), Gen.Choose(0, int.MaxValue),
            (shape, seed) => (shape.Item1, shape.Item2, seed)).ToArbitrary();

    private static void AssertNear(double expected, float actual, string what)
        => Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");

    [Fact]
    public void OnPolicyTargetsAreDiscountedNStepReturnsWithBootstrap()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll(Shapes, shape =>
        {
            var p = Problem.Random(shape.T, shape.B, (ulong)shape.Seed, onPolicy: true);
            var (vs, pg) = p.Run(new VTraceOptions());
            for (int b = 0; b < p.B; b++)
            {
                for (int s = 0; s < p.T; s++)
                {
                    // Naive: sum_{t>=s} (prod_{i<t} gamma_i) r_t + (prod_{i<T} gamma_i) * bootstrap.
                    double ret = 0, discount = 1;
                    for (int t = s; t < p.T; t++)
                    {
                        ret += discount * p.Rewards[t * p.B + b];
                        discount *= p.Discounts[t * p.B + b];
                    }
                    ret += discount * p.Bootstrap[b];
                    AssertNear(ret, vs[s * p.B + b], $"vs[{s},{b}]");

                    double nextVs = s + 1 < p.T ? vs[(s + 1) * p.B + b] : p.Bootstrap[b];
                    double adv = p.Rewards[s * p.B + b] + p.Discounts[s * p.B + b] * nextVs - p.Values[s * p.B + b];
                    AssertNear(adv, pg[s * p.B + b], $"pgAdv[{s},{b}]");
                }
            }
            return true;
        }));
    }

    [Fact]
    public void ClippedImportanceWeightsGiveTheHandComputedTargets()
    {
        // Column 0: ratios (2, 0.5, 1.2), RhoBar 1.5, CBar 1, PgRhoBar 1
        //   rho = (1.5, 0.5, 1.2), c = (1, 0.5, 1), pg rho = (1, 0.5, 1)
        //   V = (0.5, 1, -1), bootstrap 2, r = (1, 2, 0.5), gamma = (0.9, 0.9, 0.5)
        //   delta_2 = 1.2 * (0.5 + 0.5 * 2 + 1)      = 3.0    vs_2 = -1 + 3.0            = 2.0
        //   delta_1 = 0.5 * (2 - 0.9 * 1 - 1)        = 0.05   vs_1 = 1 + 0.05 + 0.9*0.5*3.0 = 2.4
        //   delta_0 = 1.5 * (1 + 0.9 * 1 - 0.5)      = 2.1    vs_0 = 0.5 + 2.1 + 0.9*1*1.4 = 3.86
        //   pg_2 = 1 * (0.5 + 0.5 * 2 + 1) = 2.5; pg_1 = 0.5 * (2 + 0.9 * 2.0 - 1) = 1.4;
        //   pg_0 = 1 * (1 + 0.9 * 2.4 - 0.5) = 2.66
        // Column 1 (checks the [T, B] interleaving): on-policy, r = 1, gamma = 1, V = 0, bootstrap 0
        //   vs = pg = (3, 2, 1)
        float[] logRhos = [MathF.Log(2f), 0f, MathF.Log(0.5f), 0f, MathF.Log(1.2f), 0f];
        float[] discounts = [0.9f, 1f, 0.9f, 1f, 0.5f, 1f];
        float[] rewards = [1f, 1f, 2f, 1f, 0.5f, 1f];
        float[] values = [0.5f, 0f, 1f, 0f, -1f, 0f];
        float[] bootstrap = [2f, 0f];
        var vs = new float[6];
        var pg = new float[6];
        VTrace.Compute(3, 2, logRhos, discounts, rewards, values, bootstrap,
            new VTraceOptions(RhoBar: 1.5f, CBar: 1f, PgRhoBar: 1f), vs, pg);

        float[] expectedVs = [3.86f, 3f, 2.4f, 2f, 2.0f, 1f];
        float[] expectedPg = [2.66f, 3f, 1.4f, 2f, 2.5f, 1f];
        for (int i = 0; i < 6; i++)
        {
            AssertNear(expectedVs[i], vs[i], $"vs[{i}]");
            AssertNear(expectedPg[i], pg[i], $"pgAdv[{i}]");
        }
    }

    [Fact]
    public void TargetsEqualTheClosedFormSumOfDiscountedTracedDeltas()
    {
        // v_s = V(x_s) + sum_{t>=s} (prod_{i=s}^{t-1} gamma_i c_i) delta_t, with clipping and lambda active.
        var options = new VTraceOptions(RhoBar: 1.2f, CBar: 0.9f, PgRhoBar: 1.1f, Lambda: 0.8f);
        var p = Problem.Random(T: 7, B: 3, seed: 2024, onPolicy: false);
        var (vs, pg) = p.Run(options);
        for (int b = 0; b < p.B; b++)
        {
            for (int s = 0; s < p.T; s++)
            {
                double sum = 0, trace = 1;
                for (int t = s; t < p.T; t++)
                {
                    int i = t * p.B + b;
                    double ratio = Math.Exp(p.LogRhos[i]);
                    double delta = Math.Min(options.RhoBar, ratio) * (p.Rewards[i] + p.Discounts[i] * p.Value(t + 1, b) - p.Value(t, b));
                    sum += trace * delta;
                    trace *= p.Discounts[i] * options.Lambda * Math.Min(options.CBar, ratio);
                }
                AssertNear(p.Value(s, b) + sum, vs[s * p.B + b], $"vs[{s},{b}]");

                int k = s * p.B + b;
                double nextVs = s + 1 < p.T ? vs[(s + 1) * p.B + b] : p.Bootstrap[b];
                double adv = Math.Min(options.PgRhoBar, Math.Exp(p.LogRhos[k])) * (p.Rewards[k] + p.Discounts[k] * nextVs - p.Values[k]);
                AssertNear(adv, pg[k], $"pgAdv[{s},{b}]");
            }
        }
    }

    [Fact]
    public void LambdaBelowOneMatchesANaiveBackwardRecursion()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(Shapes, shape =>
        {
            var options = new VTraceOptions(RhoBar: 1f, CBar: 1f, PgRhoBar: 1f, Lambda: 0.6f);
            var p = Problem.Random(shape.T, shape.B, (ulong)shape.Seed, onPolicy: false);
            var (vs, _) = p.Run(options);
            for (int b = 0; b < p.B; b++)
            {
                // vs has T+1 entries per column here; vs[T] = V(x_T) = bootstrap.
                var naive = new double[p.T + 1];
                naive[p.T] = p.Bootstrap[b];
                for (int t = p.T - 1; t >= 0; t--)
                {
                    int i = t * p.B + b;
                    double ratio = Math.Exp(p.LogRhos[i]);
                    double rho = Math.Min(1.0, ratio);
                    double c = 0.6 * Math.Min(1.0, ratio);
                    double delta = rho * (p.Rewards[i] + p.Discounts[i] * p.Value(t + 1, b) - p.Value(t, b));
                    naive[t] = p.Value(t, b) + delta + p.Discounts[i] * c * (naive[t + 1] - p.Value(t + 1, b));
                }
                for (int t = 0; t < p.T; t++) AssertNear(naive[t], vs[t * p.B + b], $"vs[{t},{b}]");
            }
            return true;
        }));
    }

    [Fact]
    public void LambdaZeroGivesOneStepTargets()
    {
        var p = Problem.Random(T: 5, B: 2, seed: 8, onPolicy: false);
        var (vs, _) = p.Run(new VTraceOptions(Lambda: 0f));
        for (int t = 0; t < p.T; t++)
        {
            for (int b = 0; b < p.B; b++)
            {
                int i = t * p.B + b;
                double rho = Math.Min(1.0, Math.Exp(p.LogRhos[i]));
                AssertNear(p.Values[i] + rho * (p.Rewards[i] + p.Discounts[i] * p.Value(t + 1, b) - p.Values[i]), vs[i], $"vs[{t},{b}]");
            }
        }
    }

    [Fact]
    public void AMinusInfinityLogRhoLeavesTheValueUnchangedAndCutsTheTrace()
    {
        // Step 1 has rho = c = 0: vs_1 = V_1 and pgAdv_1 = 0; step 0 then sees only its own delta
        // (on-policy): vs_0 = r_0 + gamma_0 * V_1.
        float[] logRhos = [0f, float.NegativeInfinity, 0f];
        float[] discounts = [0.9f, 0f, 0.9f];
        float[] rewards = [1f, 5f, 1f];
        float[] values = [0.2f, 3f, -1f];
        var vs = new float[3];
        var pg = new float[3];
        VTrace.Compute(3, 1, logRhos, discounts, rewards, values, [10f], new VTraceOptions(), vs, pg);
        AssertNear(3f, vs[1], "vs[1]");
        Assert.Equal(0f, pg[1]);
        AssertNear(1 + 0.9 * 3, vs[0], "vs[0]");
        AssertNear(1 + 0.9 * 10, vs[2], "vs[2]");
    }

    [Fact]
    public void DefaultStructOptionsAreRejectedButNewOptionsUseTheDocumentedDefaults()
    {
        Assert.Equal(new VTraceOptions(1, 1, 1, 1), new VTraceOptions());
        Assert.Equal(new VTraceOptions(1, 1, 1, 1), VTraceOptions.Default);
        var one = new float[1];
        Assert.Throws<ArgumentException>(() =>
            VTrace.Compute(1, 1, one, one, one, one, one, default(VTraceOptions), new float[1], new float[1]));
    }
}
