using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

public class PpoTests
{
    private const double GradTolerance = 5e-3;

    private sealed record Samples(int M, float[] Outputs, float[] Values, float[] Behaviour, float[] Actions,
        float[] Advantages, float[] Returns, float[] OldValues);

    private static Samples RandomSamples(PolicySpec policy, int m, ulong seed)
    {
        var rng = new Rng(seed);
        int P = policy.OutputSize;
        var outputs = GradientCheck.RandomVector(ref rng, m * P, -1.5, 1.5);
        var behaviour = new float[m * P];
        for (int i = 0; i < behaviour.Length; i++) behaviour[i] = outputs[i] + (float)rng.Uniform(-0.6, 0.6);
        var actions = new float[m * policy.ActionSize];
        for (int i = 0; i < m; i++)
        {
            var mu = behaviour.AsSpan(i * P, P);
            if (policy.Kind == PolicyKind.Categorical) actions[i] = Categorical.Sample(mu, ref rng);
            else DiagonalGaussian.Sample(mu[..policy.Size], mu[policy.Size..], ref rng, actions.AsSpan(i * policy.Size, policy.Size));
        }
        var oldValues = GradientCheck.RandomVector(ref rng, m, -2, 2);
        var values = new float[m];
        for (int i = 0; i < m; i++) values[i] = oldValues[i] + (float)rng.Uniform(-0.5, 0.5);
        return new Samples(m, outputs, values, behaviour, actions,
            GradientCheck.RandomVector(ref rng, m, -2, 2), GradientCheck.RandomVector(ref rng, m, -3, 3), oldValues);
    }

    private static void CheckGradients(PolicySpec policy, PpoOptions options)
    {
        var s = RandomSamples(policy, m: 16, seed: 21);
        var loss = new PpoLoss(options, policy);
        var dOut = new float[s.Outputs.Length];
        var dVal = new float[s.M];
        var r = loss.Compute(s.M, s.Outputs, s.Values, s.Behaviour, s.Actions, s.Advantages, s.Returns, s.OldValues, dOut, dVal);
        Assert.True(r.ClipFraction > 0 && r.ClipFraction < 1, $"both surrogate branches should occur, clip fraction {r.ClipFraction}");
        var scratchOut = new float[dOut.Length];
        var scratchVal = new float[dVal.Length];
        double F() => loss.Compute(s.M, s.Outputs, s.Values, s.Behaviour, s.Actions, s.Advantages, s.Returns, s.OldValues, scratchOut, scratchVal).TotalLoss;
        GradientCheck.AssertClose(dOut, GradientCheck.Numeric(s.Outputs, F, h: 1e-3f), GradTolerance, "dLoss/dOutputs");
        GradientCheck.AssertClose(dVal, GradientCheck.Numeric(s.Values, F, h: 1e-3f), GradTolerance, "dLoss/dValues");
    }

    [Fact]
    public void CategoricalLossGradientsMatchFiniteDifferencesWithValueClippingAndNormalizedAdvantages()
        => CheckGradients(PolicySpec.Categorical(3), new PpoOptions { ClipEpsilon = 0.1f, ClipValueLoss = true, ValueClipEpsilon = 0.2f });

    [Fact]
    public void GaussianLossGradientsMatchFiniteDifferencesIncludingTheLogStdColumns()
        => CheckGradients(PolicySpec.Gaussian(2), new PpoOptions { ClipEpsilon = 0.1f, EntropyCost = 0.05f, NormalizeAdvantages = false });

    [Fact]
    public void ThePolicyGradientIsZeroExactlyWhereTheSurrogateIsClipped()
    {
        // Behaviour p(a=0) = 0.5; the current policy sets the ratio. Samples:
        // 0: A > 0, ratio 1.6 > 1.2   -> clipped, no gradient
        // 1: A < 0, ratio 0.4 < 0.8   -> clipped, no gradient
        // 2: A > 0, ratio 0.4         -> unclipped (min picks r A), gradient -r A (onehot - p) / m
        // 3: A < 0, ratio 1.6         -> unclipped, gradient
        var policy = PolicySpec.Categorical(2);
        double[] ratios = [1.6, 0.4, 0.4, 1.6];
        float[] adv = [1, -1, 1, -1];
        var outputs = new float[8];
        var behaviour = new float[8];
        for (int i = 0; i < 4; i++)
        {
            double p = 0.5 * ratios[i];
            outputs[2 * i] = (float)Math.Log(p);
            outputs[2 * i + 1] = (float)Math.Log(1 - p);
        }
        var loss = new PpoLoss(new PpoOptions { EntropyCost = 0, NormalizeAdvantages = false, ClipEpsilon = 0.2f }, policy);
        var dOut = new float[8];
        var dVal = new float[4];
        float[] zeros = new float[4];
        var r = loss.Compute(4, outputs, zeros, behaviour, new float[4], adv, zeros, zeros, dOut, dVal);

        Assert.Equal(0.5, r.ClipFraction);
        Assert.Equal([0f, 0f, 0f, 0f], dOut[..4]);
        for (int i = 2; i < 4; i++)
        {
            double p = 0.5 * ratios[i];
            double expected0 = -ratios[i] * adv[i] * (1 - p) / 4;
            Assert.Equal(expected0, dOut[2 * i], 5);
            Assert.Equal(-expected0, dOut[2 * i + 1], 5);
        }
        // Loss: -mean(min(...)) = -(1.2 * 1 + 0.8 * -1 + 0.4 * 1 + 1.6 * -1) / 4.
        Assert.Equal(-(1.2 - 0.8 + 0.4 - 1.6) / 4, r.PolicyLoss, 5);
    }

    [Fact]
    public void TheValueGradientIsZeroWhenTheClippedValueErrorIsLargerAndOutsideTheClipRange()
    {
        var policy = PolicySpec.Categorical(2);
        var loss = new PpoLoss(new PpoOptions { EntropyCost = 0, ClipValueLoss = true, ValueClipEpsilon = 0.2f, ValueCost = 1 }, policy);
        // V_old = 0, V = 1, R = 2: clipped V = 0.2, error 1.8^2 > 1^2 and |V - V_old| > 0.2: flat.
        // V_old = 0, V = 1, R = 0: clipped error 0.2^2 < 1^2: the unclipped term, gradient V - R = 1.
        var dOut = new float[4];
        var dVal = new float[2];
        var r = loss.Compute(2, new float[4], [1f, 1f], new float[4], new float[2], [0f, 0f], [2f, 0f], [0f, 0f], dOut, dVal);
        Assert.Equal(0f, dVal[0]);
        Assert.Equal(1f / 2, dVal[1], 6);
        Assert.Equal(0.5 * (1.8 * 1.8 + 1) / 2, r.ValueLoss, 5);
    }

    [Fact]
    public void GaeStopsAtTerminationBootstrapsAtTruncationAndSkipsAutoresetSteps()
    {
        // T = 3, B = 2. Column 0: truncated at t = 0, autoreset at t = 1, new episode at t = 2.
        // Column 1: terminated at t = 1, autoreset at t = 2.
        var batch = new Trajectory(3, 2, 1, 1, 2);
        Array.Fill(batch.Valid, true);
        batch.Truncated[0] = true; batch.Valid[2] = false;
        batch.Terminated[3] = true; batch.Valid[5] = false;
        float[] r = [1, 2, 3, 4, 5, 6];
        r.CopyTo(batch.Rewards, 0);
        float[] v = [0.5f, 0.25f, 2f, 1f, -1f, 3f, 7f, 9f]; // rows 0..3 x 2 columns; row 3 bootstraps
        var adv = new float[6];
        var ret = new float[6];
        const float g = 0.9f, l = 0.8f;
        PpoLoss.Gae(batch, v, g, l, rewardScale: 1, adv, ret);

        // Column 0
        double a20 = 5 + g * 7 - (-1);           // t = 2 bootstraps from row 3
        Assert.Equal(a20, adv[4], 4);
        Assert.Equal(0f, adv[2]);                  // autoreset step
        double a00 = 1 + g * 2 - 0.5;              // truncated: bootstrap from V(row 1) = final obs, no trace beyond
        Assert.Equal(a00, adv[0], 4);
        Assert.Equal(a00 + 0.5, ret[0], 4);
        // Column 1
        Assert.Equal(0f, adv[5]);
        double a11 = 4 - 1.0;                      // terminated: no bootstrap
        Assert.Equal(a11, adv[3], 4);
        double a01 = 2 + g * 1 - 0.25 + g * l * a11;
        Assert.Equal(a01, adv[1], 4);
    }

    [Fact]
    public void PerColumnKlSumsOverTheLastEpochAddUpToTheUpdateKl()
    {
        var spec = new NetworkSpec(1, [4], Activation.Tanh, new CategoricalHead(2));
        var net = ActorCriticNet.Create(spec, 3);
        ILearner learner = new PpoLearner(net, new Adam(net.Parameters, 1e-2f), new PpoOptions { Epochs = 2, Minibatches = 3 }, 0.5f, seed: 7);
        var s = RandomBatch.Create(PolicySpec.Categorical(2), T: 4, B: 3, seed: 5).EndEpisode(1, 1, terminated: true);
        var stats = learner.Update(s.Batch);

        // 11 valid steps in minibatches of 11 / 3 = 3: 9 samples per epoch, the last epoch's are counted.
        Assert.Equal(3, learner.ColumnKlSums.Length);
        double total = 0;
        int samples = 0;
        for (int b = 0; b < 3; b++)
        {
            total += learner.ColumnKlSums[b];
            samples += learner.ColumnValidSteps[b];
            Assert.True(learner.ColumnValidSteps[b] <= (b == 1 ? 3 : 4));
        }
        Assert.Equal(9, samples);
        Assert.Equal(stats.Kl, total / samples, 6);
    }
}
