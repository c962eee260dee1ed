using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

public class ImpalaLossTests
{
    // The loss sums ~T*B float-valued per-step terms (each ~1e-7 relative rounding) and is differenced with
    // h = 1e-2; 5e-3 relative to (1 + |numeric|) covers that with margin. Observed errors are ~1e-4.
    private const double GradTolerance = 5e-3;

    /// <summary>A random batch plus current-network outputs for it.</summary>
    private sealed class Setup
    {
        public required Trajectory Batch { get; init; }
        public required float[] Outputs { get; init; }
        public required float[] Values { get; init; }
        public required PolicySpec Policy { get; init; }
        public float[] DOutputs => new float[Outputs.Length];
        public float[] DValues => new float[Values.Length];

        public static Setup Create(PolicySpec policy, int T, int B, ulong seed, bool onPolicy)
        {
            var rng = new Rng(seed);
            int P = policy.OutputSize;
            var batch = new Trajectory(T, B, observationSize: 1, policy.ActionSize, P);
            var outputs = GradientCheck.RandomVector(ref rng, (T + 1) * B * P, -1.5, 1.5);
            var values = GradientCheck.RandomVector(ref rng, (T + 1) * B, -3, 3);
            for (int i = 0; i < T * B; i++)
            {
                batch.Valid[i] = true;
                batch.Rewards[i] = (float)rng.Uniform(-2, 2);
                var behaviour = batch.BehaviourPolicy.AsSpan(i * P, P);
                if (onPolicy)
                    outputs.AsSpan(i * P, P).CopyTo(behaviour);
                else
                    for (int k = 0; k < P; k++) behaviour[k] = outputs[i * P + k] + (float)rng.Uniform(-0.7, 0.7);
                if (policy.Kind == PolicyKind.Categorical)
                {
                    batch.Actions[i] = Categorical.Sample(behaviour, ref rng);
                }
                else
                {
                    int D = policy.Size;
                    DiagonalGaussian.Sample(behaviour[..D], behaviour[D..], ref rng, batch.Actions.AsSpan(i * D, D));
                }
            }
            return new Setup { Batch = batch, Outputs = outputs, Values = values, Policy = policy };
        }

        /// <summary>Episode ends at (t, b) and the next step is the autoreset step.</summary>
        public void EndEpisode(int t, int b, bool terminated)
        {
            int i = t * Batch.Envs + b;
            if (terminated) Batch.Terminated[i] = true; else Batch.Truncated[i] = true;
            if (t + 1 < Batch.Steps) Batch.Valid[i + Batch.Envs] = false;
        }
    }

    private static void CheckGradients(PolicySpec policy, ImpalaOptions options)
    {
        var s = Setup.Create(policy, T: 5, B: 3, seed: 42, onPolicy: false);
        s.EndEpisode(1, 0, terminated: false); // truncated, then autoreset at t = 2
        s.EndEpisode(2, 1, terminated: true);  // terminated, then autoreset at t = 3
        s.EndEpisode(4, 2, terminated: false); // truncated at the last step: autoreset is in the next unroll
        var loss = new ImpalaLoss(options, policy);
        var dOut = s.DOutputs;
        var dVal = s.DValues;
        loss.Compute(s.Batch, s.Outputs, s.Values, dOut, dVal);

        // vs and pgAdv are constants of the loss: freeze them so the finite difference sees the same function.
        loss.FreezeTargets = true;
        var scratchOut = s.DOutputs;
        var scratchVal = s.DValues;
        double F() => loss.Compute(s.Batch, s.Outputs, s.Values, scratchOut, scratchVal).TotalLoss;
        GradientCheck.AssertClose(dOut, GradientCheck.Numeric(s.Outputs, F), GradTolerance, "dLoss/dPolicyOutputs");
        GradientCheck.AssertClose(dVal, GradientCheck.Numeric(s.Values, F), GradTolerance, "dLoss/dValues");

        // Invalid steps and the bootstrap row carry exactly zero gradient.
        int B = s.Batch.Envs, P = policy.OutputSize, n = s.Batch.Steps * B;
        foreach (int i in new[] { 2 * B + 0, 3 * B + 1 }.Concat(Enumerable.Range(n, B)))
        {
            Assert.Equal(0f, dVal[i]);
            Assert.All(dOut.AsSpan(i * P, P).ToArray(), g => Assert.Equal(0f, g));
        }
    }

    [Fact]
    public void CategoricalLossGradientsMatchFiniteDifferencesWithSumReduction()
        => CheckGradients(PolicySpec.Categorical(3), new ImpalaOptions { EntropyCost = 0.05f });

    [Fact]
    public void CategoricalLossGradientsMatchFiniteDifferencesWithMeanReductionAndClipping()
        => CheckGradients(PolicySpec.Categorical(4), new ImpalaOptions
        {
            EntropyCost = 0.05f,
            Reduction = LossReduction.Mean,
            RewardClipping = RewardClipping.AbsOne,
            VTrace = new VTraceOptions(RhoBar: 1.2f, CBar: 0.9f, PgRhoBar: 1.1f, Lambda: 0.9f),
        });

    [Fact]
    public void GaussianLossGradientsMatchFiniteDifferencesIncludingTheLogStdColumns()
        => CheckGradients(PolicySpec.Gaussian(2), new ImpalaOptions { EntropyCost = 0.05f });

    [Fact]
    public void GaussianLossGradientsMatchFiniteDifferencesWithMeanReduction()
        => CheckGradients(PolicySpec.Gaussian(1), new ImpalaOptions { EntropyCost = 0.05f, Reduction = LossReduction.Mean });

    [Fact]
    public void ATruncatedStepBootstrapsFromTheFinalObservationAndTheAutoresetStepContributesNothing()
    {
        // On-policy, lambda 1, no clipping in effect: vs are discounted returns, cut at episode ends.
        var policy = PolicySpec.Categorical(3);
        var s = Setup.Create(policy, T: 4, B: 2, seed: 7, onPolicy: true);
        s.EndEpisode(1, 0, terminated: false); // column 0: truncated at t = 1, autoreset at t = 2
        s.EndEpisode(1, 1, terminated: true);  // column 1: terminated at t = 1, autoreset at t = 2
        const float gamma = 0.99f;
        var loss = new ImpalaLoss(new ImpalaOptions(), policy);
        var dOut = s.DOutputs;
        var dVal = s.DValues;
        var result = loss.Compute(s.Batch, s.Outputs, s.Values, dOut, dVal);
        var vs = loss.Targets;
        var adv = loss.Advantages;
        float R(int t, int b) => s.Batch.Rewards[t * 2 + b];
        float V(int t, int b) => s.Values[t * 2 + b]; // row T is the bootstrap row

        Assert.Equal(6, result.ValidSteps);
        // Column 0: the truncated step bootstraps from V(row 2) = V(final observation).
        Assert.Equal(R(1, 0) + gamma * V(2, 0), vs[1 * 2 + 0], 4);
        Assert.Equal(R(0, 0) + gamma * vs[1 * 2 + 0], vs[0 * 2 + 0], 4);
        Assert.Equal(V(2, 0), vs[2 * 2 + 0], 5); // autoreset step: delta 0, vs = V
        Assert.Equal(0f, adv[2 * 2 + 0]);
        Assert.Equal(R(3, 0) + gamma * V(4, 0), vs[3 * 2 + 0], 4); // new episode: bootstrap row
        // Column 1: the terminated step does not bootstrap.
        Assert.Equal(R(1, 1), vs[1 * 2 + 1], 4);
        Assert.Equal(R(0, 1) + gamma * R(1, 1), vs[0 * 2 + 1], 4);
        Assert.Equal(0f, adv[2 * 2 + 1]);

        // Nothing recorded at the autoreset steps reaches the loss or the gradients.
        Assert.All(new[] { 4, 5 }, i =>
        {
            Assert.Equal(0f, dVal[i]);
            Assert.All(dOut.AsSpan(i * 3, 3).ToArray(), g => Assert.Equal(0f, g));
        });
        foreach (int i in new[] { 4, 5 })
        {
            s.Batch.Rewards[i] = 1000f;
            s.Batch.Actions[i] = 2;
            s.Batch.BehaviourPolicy.AsSpan(i * 3, 3).Fill(-50f);
            s.Batch.BehaviourPolicy[i * 3] = 50f;
        }
        var again = loss.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, s.DValues);
        Assert.Equal(result, again);
    }

    [Fact]
    public void EpisodeEndsOnUnrollBoundariesUseTheBootstrapRowAndMaskALeadingAutoresetStep()
    {
        // Column 0 is truncated at its last step: it bootstraps from row T (the final observation, which is
        // also row 0 of the next unroll). Column 1 starts with the autoreset step of an episode that
        // ended in the previous unroll.
        var policy = PolicySpec.Categorical(2);
        var s = Setup.Create(policy, T: 3, B: 2, seed: 21, onPolicy: true);
        s.Batch.Truncated[2 * 2 + 0] = true;
        s.Batch.Valid[0 * 2 + 1] = false;
        var loss = new ImpalaLoss(new ImpalaOptions(), policy);
        var dVal = s.DValues;
        var result = loss.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, dVal);
        const float gamma = 0.99f;
        Assert.Equal(5, result.ValidSteps);
        Assert.Equal(s.Batch.Rewards[4] + gamma * s.Values[6], loss.Targets[4], 4);
        Assert.Equal(s.Values[1], loss.Targets[1], 5);
        Assert.Equal(0f, loss.Advantages[1]);
        Assert.Equal(0f, dVal[1]);
        // The first real step of column 1 is an ordinary on-policy return.
        Assert.Equal(s.Batch.Rewards[3] + gamma * (s.Batch.Rewards[5] + gamma * s.Values[7]), loss.Targets[3], 4);
    }

    [Fact]
    public void AbsOneClippingIsAppliedToRewardsBeforeVTrace()
    {
        var policy = PolicySpec.Categorical(2);
        var s = Setup.Create(policy, T: 1, B: 2, seed: 3, onPolicy: true);
        s.Batch.Terminated[0] = s.Batch.Terminated[1] = true;
        s.Batch.Rewards[0] = 5f;
        s.Batch.Rewards[1] = -0.25f;
        var clipped = new ImpalaLoss(new ImpalaOptions { RewardClipping = RewardClipping.AbsOne }, policy);
        clipped.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, s.DValues);
        Assert.Equal([1f, -0.25f], clipped.Targets.ToArray());
        var raw = new ImpalaLoss(new ImpalaOptions(), policy);
        raw.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, s.DValues);
        Assert.Equal([5f, -0.25f], raw.Targets.ToArray());
    }

    [Fact]
    public void LossTermsFollowTheirDefinitionsAndKlMeasuresThePolicyLag()
    {
        var policy = PolicySpec.Categorical(3);
        var s = Setup.Create(policy, T: 3, B: 2, seed: 9, onPolicy: false);
        s.EndEpisode(0, 1, terminated: true);
        var options = new ImpalaOptions { EntropyCost = 0.02f, BaselineCost = 0.7f };
        var loss = new ImpalaLoss(options, policy);
        var r = loss.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, s.DValues);

        double pg = 0, baseline = 0, entropy = 0, kl = 0;
        int valid = 0;
        for (int i = 0; i < 6; i++)
        {
            if (!s.Batch.Valid[i]) continue;
            valid++;
            var current = s.Outputs.AsSpan(i * 3, 3);
            var behaviour = s.Batch.BehaviourPolicy.AsSpan(i * 3, 3);
            pg -= Categorical.LogProb(current, (int)s.Batch.Actions[i]) * loss.Advantages[i];
            baseline += Math.Pow(loss.Targets[i] - s.Values[i], 2);
            entropy += Categorical.Entropy(current);
            kl += Categorical.Kl(behaviour, current);
        }
        Assert.Equal(5, valid);
        Assert.Equal(5, r.ValidSteps);
        Assert.Equal(pg, r.PolicyLoss, 4);
        Assert.Equal(0.7 * 0.5 * baseline, r.BaselineLoss, 4);
        Assert.Equal(-0.02 * entropy, r.EntropyLoss, 5);
        Assert.Equal(r.PolicyLoss + r.BaselineLoss + r.EntropyLoss, r.TotalLoss, 6);
        Assert.Equal(entropy / 5, r.Entropy, 5);
        Assert.Equal(kl / 5, r.Kl, 5);
        Assert.True(r.Kl > 0);

        var onPolicy = Setup.Create(policy, T: 3, B: 2, seed: 9, onPolicy: true);
        Assert.Equal(0.0, new ImpalaLoss(options, policy).Compute(onPolicy.Batch, onPolicy.Outputs, onPolicy.Values, onPolicy.DOutputs, onPolicy.DValues).Kl, 6);
    }

    [Fact]
    public void MeanReductionDividesLossesAndGradientsByTheNumberOfValidSteps()
    {
        var policy = PolicySpec.Gaussian(2);
        var s = Setup.Create(policy, T: 4, B: 2, seed: 5, onPolicy: false);
        s.EndEpisode(1, 1, terminated: false);
        var dSum = s.DOutputs; var dvSum = s.DValues;
        var dMean = s.DOutputs; var dvMean = s.DValues;
        var sum = new ImpalaLoss(new ImpalaOptions(), policy).Compute(s.Batch, s.Outputs, s.Values, dSum, dvSum);
        var mean = new ImpalaLoss(new ImpalaOptions { Reduction = LossReduction.Mean }, policy).Compute(s.Batch, s.Outputs, s.Values, dMean, dvMean);
        Assert.Equal(7, mean.ValidSteps);
        Assert.Equal(sum.TotalLoss / 7, mean.TotalLoss, 5);
        Assert.Equal(sum.Entropy, mean.Entropy); // diagnostics are means either way
        for (int i = 0; i < dSum.Length; i++) Assert.Equal(dSum[i] / 7, dMean[i], 5);
        for (int i = 0; i < dvSum.Length; i++) Assert.Equal(dvSum[i] / 7, dvMean[i], 5);
    }

    [Fact]
    public void MismatchedShapesAreRejected()
    {
        var s = Setup.Create(PolicySpec.Categorical(3), T: 2, B: 1, seed: 1, onPolicy: true);
        var wrongHead = new ImpalaLoss(new ImpalaOptions(), PolicySpec.Categorical(4));
        Assert.Throws<ArgumentException>(() => wrongHead.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, s.DValues));
        var loss = new ImpalaLoss(new ImpalaOptions(), PolicySpec.Categorical(3));
        Assert.Throws<ArgumentException>(() => loss.Compute(s.Batch, s.Outputs.AsSpan(3), s.Values, s.DOutputs.AsSpan(3), s.DValues));
    }

    [Fact]
    public void PerColumnKlSumsAddUpToTheBatchKlAndSkipInvalidSteps()
    {
        var policy = PolicySpec.Categorical(3);
        var s = Setup.Create(policy, T: 4, B: 3, seed: 5, onPolicy: false);
        s.EndEpisode(1, 1, terminated: true); // makes step (2, column 1) an autoreset step
        var loss = new ImpalaLoss(new ImpalaOptions(), policy);
        var r = loss.Compute(s.Batch, s.Outputs, s.Values, s.DOutputs, s.DValues);

        Assert.Equal(3, loss.ColumnKlSums.Length);
        for (int b = 0; b < 3; b++)
        {
            double kl = 0;
            int valid = 0;
            for (int t = 0; t < 4; t++)
            {
                int i = t * 3 + b;
                if (!s.Batch.Valid[i]) continue;
                valid++;
                kl += Categorical.Kl(s.Batch.BehaviourPolicy.AsSpan(i * 3, 3), s.Outputs.AsSpan(i * 3, 3));
            }
            Assert.Equal(kl, loss.ColumnKlSums[b], 5);
            Assert.Equal(valid, loss.ColumnValidSteps[b]);
        }
        Assert.Equal(3, loss.ColumnValidSteps[1]);
        double total = 0;
        foreach (var x in loss.ColumnKlSums) total += x;
        Assert.Equal(r.Kl, total / r.ValidSteps, 5);
    }
}
