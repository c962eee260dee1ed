using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

public class VmpoTests
{
    private const double GradTolerance = 5e-3;

    [Fact]
    public void TopKWeightsKeepTheTopHalfOfValidAdvantagesAndSoftmaxThemByTemperature()
    {
        float[] advantages = [1, 3, 2, -1, 5, 0];
        bool[] valid = [true, true, true, true, false, true]; // the 5 is an autoreset step: never selected
        var psi = new float[6];
        int k = VmpoLoss.TopKWeights(advantages, valid, fraction: 0.5, eta: 2, psi);

        Assert.Equal(3, k); // ceil(0.5 * 5 valid)
        double z = Math.Exp(3 / 2.0) + Math.Exp(2 / 2.0) + Math.Exp(1 / 2.0);
        Assert.Equal(Math.Exp(1.5) / z, psi[1], 6);
        Assert.Equal(Math.Exp(1.0) / z, psi[2], 6);
        Assert.Equal(Math.Exp(0.5) / z, psi[0], 6);
        Assert.Equal(0f, psi[3]);
        Assert.Equal(0f, psi[4]);
        Assert.Equal(0f, psi[5]);
        Assert.Equal(1.0, psi.Sum(), 6);
    }

    [Fact]
    public void TheTemperatureLossAndItsDerivativeMatchHandComputedValues()
    {
        float[] selected = [1, 2];
        var (loss, dEta) = VmpoLoss.TemperatureLoss(selected, eta: 1, epsEta: 0.1);
        Assert.Equal(0.1 + Math.Log((Math.E + Math.E * Math.E) / 2), loss, 9);

        const double h = 1e-5;
        double numeric = (VmpoLoss.TemperatureLoss(selected, 1 + h, 0.1).Loss - VmpoLoss.TemperatureLoss(selected, 1 - h, 0.1).Loss) / (2 * h);
        Assert.Equal(numeric, dEta, 6);
        // Large advantages over a small temperature stay finite (the max is subtracted).
        var (big, dBig) = VmpoLoss.TemperatureLoss([1000f, 999f], eta: 0.5, epsEta: 0.01);
        Assert.True(double.IsFinite(big) && double.IsFinite(dBig));
        Assert.Equal(0.5 * 0.01 + 0.5 * (2000 + Math.Log((1 + Math.Exp(-2)) / 2)), big, 6);
    }

    [Fact]
    public void TheAlphaLossIsAlphaTimesTheSlackAndItsDerivativePushesAlphaUpWhenKlExceedsEpsilon()
    {
        var (loss, dAlpha) = VmpoLoss.AlphaLoss(alpha: 5, epsAlpha: 0.01, kl: 0.03);
        Assert.Equal(5 * (0.01 - 0.03), loss, 12);
        Assert.Equal(-0.02, dAlpha, 12); // gradient descent raises alpha
        Assert.Equal(0.005, VmpoLoss.AlphaLoss(2, 0.01, 0.005).DAlpha, 12);
    }

    [Fact]
    public void DecoupledGaussianKlsMatchHandComputedValuesAndSumToTheFullKlWhenOnePartIsUnchanged()
    {
        // sigma_old = 1, mu_old = 0; mu = 1, sigma = 2.
        var (klMu, klSigma) = VmpoLoss.DecoupledGaussianKl([0f], [0f], [1f], [MathF.Log(2)]);
        Assert.Equal(0.5, klMu, 6);
        Assert.Equal(0.5 * (0.25 - 1 + 2 * Math.Log(2)), klSigma, 6);

        // Two dimensions, only the mean moves: KL_sigma = 0 and KL_mu is the full KL(old || new).
        float[] oldMean = [0.3f, -1f], oldLogStd = [-0.5f, 0.2f], mean = [0.8f, -0.4f];
        var (muOnly, sigmaZero) = VmpoLoss.DecoupledGaussianKl(oldMean, oldLogStd, mean, oldLogStd);
        Assert.Equal(0, sigmaZero, 9);
        Assert.Equal(DiagonalGaussian.Kl(oldMean, oldLogStd, mean, oldLogStd), muOnly, 5);
        // Only the std moves: KL_mu = 0 and KL_sigma is the full KL.
        float[] logStd = [0.1f, -0.3f];
        var (muZero, sigmaOnly) = VmpoLoss.DecoupledGaussianKl(oldMean, oldLogStd, oldMean, logStd);
        Assert.Equal(0, muZero, 9);
        Assert.Equal(DiagonalGaussian.Kl(oldMean, oldLogStd, oldMean, logStd), sigmaOnly, 5);
    }

    [Fact]
    public void NStepTargetsStopAtTerminationBootstrapAtTruncationNAndTheUnrollEnd()
    {
        // T = 4, B = 2, n = 2. Column 0: no episode end. Column 1: terminated at t = 0 (autoreset t = 1),
        // truncated at t = 2 (autoreset t = 3).
        var batch = new Trajectory(4, 2, 1, 1, 2);
        Array.Fill(batch.Valid, true);
        batch.Terminated[1] = true; batch.Valid[3] = false;
        batch.Truncated[5] = true; batch.Valid[7] = false;
        for (int i = 0; i < 8; i++) batch.Rewards[i] = i + 1; // r(t, b) = 2t + b + 1
        float[] v = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]; // V(row t, b) = 10 + 2t + b
        var g = new float[8];
        const float d = 0.5f;
        VmpoLoss.NStepTargets(batch, v, d, nSteps: 2, rewardScale: 1, g);

        Assert.Equal(1 + d * 3 + d * d * 14, g[0], 5);  // t = 0: two rewards then V(row 2)
        Assert.Equal(5 + d * 7 + d * d * 18, g[4], 5);  // t = 2: two rewards then V(row 4), the unroll end
        Assert.Equal(7 + d * 18, g[6], 5);              // t = 3: one step left in the unroll
        Assert.Equal(2f, g[1]);                          // terminated: its reward only
        Assert.Equal(v[3], g[3]);                        // autoreset step: G = V (no advantage)
        Assert.Equal(6 + d * 17, g[5], 5);              // truncated: bootstrap from row 3 (final observation)
        Assert.Equal(v[7], g[7]);
    }

    private static void CheckGradients(PolicySpec policy)
    {
        var s = RandomBatch.Create(policy, T: 5, B: 3, seed: 31, spread: 0.3).WithEpisodeEnds();
        var loss = new VmpoLoss(new VmpoOptions { NSteps = 3 }, policy);
        const double eta = 0.8, alpha = 3, alphaSigma = 7;
        var dOut = s.NewDOutputs();
        var dVal = s.NewDValues();
        var first = loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, eta, alpha, alphaSigma, dOut, dVal);
        Assert.True(first.Selected > 0 && first.KlMu > 0);

        // G and A (hence psi) are constants: freeze them so the finite difference sees the same function.
        loss.FreezeTargets = true;
        var scratchOut = s.NewDOutputs();
        var scratchVal = s.NewDValues();
        double F() => loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, eta, alpha, alphaSigma, scratchOut, scratchVal).NetworkLoss;
        GradientCheck.AssertClose(dOut, GradientCheck.Numeric(s.Outputs, F, h: 1e-3f), GradTolerance, "dLoss/dPolicyOutputs");
        GradientCheck.AssertClose(dVal, GradientCheck.Numeric(s.Values, F, h: 1e-3f), GradTolerance, "dLoss/dValues");
        int P = policy.OutputSize;
        foreach (int i in s.RowsWithoutGradient())
        {
            Assert.Equal(0f, dVal[i]);
            Assert.All(dOut.AsSpan(i * P, P).ToArray(), g => Assert.Equal(0f, g));
        }

        // Dual derivatives: eta by finite differences of the temperature loss; alpha's are eps - KL.
        const double h = 1e-4;
        double Temperature(double e) => loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, e, alpha, alphaSigma, scratchOut, scratchVal).TemperatureLoss;
        Assert.Equal((Temperature(eta + h) - Temperature(eta - h)) / (2 * h), first.DEta, 4);
        var o = loss.Options;
        bool categorical = policy.Kind == PolicyKind.Categorical;
        Assert.Equal((categorical ? o.EpsilonAlpha : o.EpsilonAlphaMu) - first.KlMu, first.DAlpha, 6);
        if (!categorical) Assert.Equal(o.EpsilonAlphaSigma - first.KlSigma, first.DAlphaSigma, 6);
        Assert.Equal(first.NetworkLoss + first.TemperatureLoss + first.AlphaLoss, first.TotalLoss, 9);
    }

    [Fact]
    public void CategoricalLossGradientsMatchFiniteDifferences() => CheckGradients(PolicySpec.Categorical(3));

    [Fact]
    public void GaussianLossGradientsWithDecoupledTrustRegionsMatchFiniteDifferences() => CheckGradients(PolicySpec.Gaussian(2));

    [Fact]
    public void TheTargetNetworkIsCopiedEveryTargetPeriodUpdatesAndTheDualsStayPositive()
    {
        var spec = new NetworkSpec(1, [4], Activation.Tanh, new GaussianHead(1));
        var net = ActorCriticNet.Create(spec, 3);
        var learner = new VmpoLearner(net, new Adam(net.Parameters, 1e-2f),
            new VmpoOptions { TargetUpdatePeriod = 5, DualLearningRate = 0.5f }, 40f);
        var batch = RandomBatch.Create(PolicySpec.Gaussian(1), T: 4, B: 2, seed: 9).Batch;
        for (int i = 1; i <= 60; i++)
        {
            learner.Update(batch);
            Assert.Equal(i / 5, learner.TargetUpdates);
            Assert.Equal(i % 5 == 0, learner.TargetNetwork.Parameters.Values.AsSpan().SequenceEqual(net.Parameters.Values));
            Assert.True(learner.Eta > 0 && learner.Alpha > 0 && learner.AlphaSigma > 0);
        }
    }

    [Fact]
    public void PerColumnKlSumsAddUpToTheBatchKlAndSkipInvalidSteps()
    {
        var policy = PolicySpec.Gaussian(2);
        var s = RandomBatch.Create(policy, T: 4, B: 3, seed: 5, spread: 0.3).EndEpisode(1, 1, terminated: true);
        var loss = new VmpoLoss(new VmpoOptions(), policy);
        var r = loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, 1.0, 5.0, 5.0, s.NewDOutputs(), s.NewDValues());

        ColumnKlAssert.MatchesBehaviourKl(s, loss.ColumnKlSums, loss.ColumnValidSteps, r.Kl, r.ValidSteps);
        Assert.Equal(3, loss.ColumnValidSteps[1]);
    }

    [Fact]
    public void TheLearnerReportsTheLossPerColumnKlForAps()
        => ColumnKlAssert.LearnerReportsPerColumnKl(net => new VmpoLearner(net, new Adam(net.Parameters, 1e-2f), new VmpoOptions(), 40f));
}
