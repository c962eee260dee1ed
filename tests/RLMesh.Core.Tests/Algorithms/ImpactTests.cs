using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

public class ImpactTests
{
    // Same budget as the IMPALA loss checks: float per-step terms differenced with h = 1e-2.
    private const double GradTolerance = 5e-3;

    private static void CheckGradients(PolicySpec policy, ImpactOptions options, float klCoefficient)
    {
        var s = RandomBatch.Create(policy, T: 5, B: 3, seed: 11).WithEpisodeEnds();
        var loss = new ImpactLoss(options, policy);
        var dOut = s.NewDOutputs();
        var dVal = s.NewDValues();
        var first = loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, klCoefficient, dOut, dVal);
        Assert.True(first.ClipFraction > 0 && first.ClipFraction < 1, $"the batch should exercise both branches, clip fraction {first.ClipFraction}");

        loss.FreezeTargets = true;
        var scratchOut = s.NewDOutputs();
        var scratchVal = s.NewDValues();
        double F() => loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, klCoefficient, scratchOut, scratchVal).TotalLoss;
        GradientCheck.AssertClose(dOut, GradientCheck.Numeric(s.Outputs, F, h: 1e-3f), GradTolerance, "dLoss/dPolicyOutputs");
        GradientCheck.AssertClose(dVal, GradientCheck.Numeric(s.Values, F, h: 1e-3f), GradTolerance, "dLoss/dValues");
        int P = policy.OutputSize;
        foreach (int i in s.RowsWithoutGradient())
        {
            Assert.Equal(0f, dVal[i]);
            Assert.All(dOut.AsSpan(i * P, P).ToArray(), g => Assert.Equal(0f, g));
        }
    }

    [Fact]
    public void CategoricalLossGradientsMatchFiniteDifferences()
        => CheckGradients(PolicySpec.Categorical(3), new ImpactOptions { ClipEpsilon = 0.2f }, klCoefficient: 0);

    [Fact]
    public void CategoricalLossGradientsWithTheKlTermMatchFiniteDifferences()
        => CheckGradients(PolicySpec.Categorical(4), new ImpactOptions { ClipEpsilon = 0.2f, UseKlLoss = true }, klCoefficient: 0.7f);

    [Fact]
    public void GaussianLossGradientsWithTheKlTermMatchFiniteDifferences()
        => CheckGradients(PolicySpec.Gaussian(2), new ImpactOptions { ClipEpsilon = 0.2f, UseKlLoss = true }, klCoefficient: 0.7f);

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void TargetOutputsThatAreTheBatchsOwnBehaviourRowsGiveTheSameLossAsACopyOfThem(bool gaussian, bool klLoss)
    {
        // The loss skips the duplicate target terms when it is handed the batch's behaviour rows themselves (actors that
        // follow the target); the result must be exactly the one computed from an equal copy in other memory.
        var policy = gaussian ? PolicySpec.Gaussian(2) : PolicySpec.Categorical(3);
        var s = RandomBatch.Create(policy, T: 6, B: 3, seed: 5).WithEpisodeEnds();
        var options = new ImpactOptions { ClipEpsilon = 0.2f, UseKlLoss = klLoss };
        int n = s.Batch.Steps * s.Batch.Envs * policy.OutputSize;
        var behaviourRows = s.Batch.BehaviourPolicy.AsSpan(0, n);
        var copy = behaviourRows.ToArray();

        (ImpactLossResult Result, float[] DOut, float[] DVal) Run(ReadOnlySpan<float> target)
        {
            var dOut = s.NewDOutputs();
            var dVal = s.NewDValues();
            var r = new ImpactLoss(options, policy).Compute(s.Batch, s.Outputs, s.Values, target, 0.7f, dOut, dVal);
            return (r, dOut, dVal);
        }
        var aliased = Run(behaviourRows);
        var copied = Run(copy);

        Assert.Equal(copied.Result, aliased.Result);
        Assert.Equal(copied.DOut, aliased.DOut);
        Assert.Equal(copied.DVal, aliased.DVal);
        Assert.Equal(0, aliased.Result.KlTargetCurrent - aliased.Result.Kl, 12); // pi_target = mu
        Assert.True(aliased.Result.ValidSteps > 0 && aliased.DOut.Any(g => g != 0));
    }

    [Fact]
    public void TheSurrogateUsesTheTargetWorkerClippedRatioAndIsFlatWherePpoClips()
    {
        // One step, one env, two actions, action 0 taken. pi = 0.5, mu = 0.25, pi_target = 0.1:
        // min(mu / pi_target, 2) = min(2.5, 2) = 2, r = 2 * (0.5 / 0.25) = 4 > 1 + eps.
        var policy = PolicySpec.Categorical(2);
        var batch = new Trajectory(1, 1, 1, 1, 2);
        batch.Valid[0] = true;
        batch.Rewards[0] = 1;
        batch.Terminated[0] = true; // vs = r, A = r - V (with rho = min(1, pi_target / mu))
        SetProbabilities(batch.BehaviourPolicy, 0.25);
        var outputs = new float[4];
        SetProbabilities(outputs, 0.5);
        var target = new float[2];
        SetProbabilities(target, 0.1);
        var values = new float[] { 0f, 0f };
        var loss = new ImpactLoss(new ImpactOptions(), policy);
        var dOut = new float[4];
        var dVal = new float[2];

        var result = loss.Compute(batch, outputs, values, target, 0, dOut, dVal);
        // A = min(1, 0.1 / 0.25) * (1 - 0) = 0.4 > 0 and r = 4 is above 1 + 0.4: clipped to 1.4.
        Assert.Equal(-1.4 * 0.4, result.PolicyLoss, 4);
        Assert.Equal(1.0, result.ClipFraction);
        // Only the entropy term moves the policy when the surrogate is clipped.
        var entropyOnly = new float[2];
        Categorical.AddEntropyGradient(outputs.AsSpan(0, 2), -0.01f, entropyOnly);
        Assert.Equal(entropyOnly[0], dOut[0], 6);
        Assert.Equal(entropyOnly[1], dOut[1], 6);

        // With a negative advantage the unclipped term is the min: gradient -r * A on log pi.
        batch.Rewards[0] = -1;
        result = loss.Compute(batch, outputs, values, target, 0, dOut, dVal);
        Assert.Equal(0.0, result.ClipFraction);
        Assert.Equal(4 * 0.4, result.PolicyLoss, 4); // -(r * A) = -(4 * -0.4)
    }

    private static void SetProbabilities(Span<float> logits, double p0)
    {
        logits[0] = (float)Math.Log(p0);
        logits[1] = (float)Math.Log(1 - p0);
    }

    private sealed class CountingSource : IBatchSource
    {
        public int Made { get; private set; }
        /// <summary>Answers FreshReady for each call in turn (then false); null: the interface default.</summary>
        public Queue<bool>? Ready { get; init; }
        public bool FreshReady => Ready is { Count: > 0 } ready && ready.Dequeue();
        public ValueTask<LearnerBatch> NextAsync(CancellationToken cancellationToken)
        {
            var t = new Trajectory(1, 1, 1, 1, 2) { PolicyVersion = Made++ };
            return ValueTask.FromResult(new LearnerBatch(t, true, [t]));
        }
    }

    [Fact]
    public async Task TheCircularBufferTrainsEveryBatchKTimesRoundRobinAndEvictsTheOldest()
    {
        var source = new CountingSource();
        var buffer = new ImpactCircularBuffer(source, batches: 4, reuses: 2);
        var order = new List<(long Version, bool Fresh)>();
        for (int i = 0; i < 24; i++)
        {
            var b = await buffer.NextAsync(CancellationToken.None);
            order.Add((b.Batch.PolicyVersion, b.Fresh));
        }
        long[] expected = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9, 10, 11, 8, 9, 10, 11];
        Assert.Equal(expected, order.Select(o => o.Version));
        // The first use is fresh (frames counted once), the reuse is not.
        Assert.Equal(12, order.Count(o => o.Fresh));
        Assert.All(order.GroupBy(o => o.Version), g => Assert.Equal(2, g.Count()));
        Assert.Equal(12, buffer.Admitted);
        Assert.Equal(8, buffer.Evicted); // slots 0-3 were refilled twice each
        Assert.Equal(12, source.Made);
    }

    [Fact]
    public async Task OpportunisticReuseTakesAWaitingFreshBatchFirstAndReusesOnlyWhileNoneWaits()
    {
        // 1: nothing held, nothing waiting -> wait for fresh 0. 2: nothing waiting -> reuse 0 rather than idle.
        // 3: 0 used up (K = 2), nothing waiting -> wait for fresh 1. 4: reuse 1. 5: wait for fresh 2.
        // 6-8: fresh waiting -> 3, 4, 5 straight away, evicting the oldest (0, 1, 2). 9: nothing waiting -> reuse 3.
        bool[] ready = [false, false, false, false, false, true, true, true, false];
        var source = new CountingSource { Ready = new Queue<bool>(ready) };
        var buffer = new ImpactCircularBuffer(source, batches: 3, reuses: 2, opportunistic: true);
        var order = new List<(long Version, bool Fresh)>();
        for (int i = 0; i < ready.Length; i++)
        {
            var b = await buffer.NextAsync(CancellationToken.None);
            order.Add((b.Batch.PolicyVersion, b.Fresh));
        }
        Assert.Equal([(0L, true), (0L, false), (1L, true), (1L, false), (2L, true), (3L, true), (4L, true), (5L, true), (3L, false)], order);
        Assert.Equal(3, buffer.Reused);
        Assert.Equal(3, buffer.Evicted);
        Assert.All(order.GroupBy(o => o.Version), g => Assert.True(g.Count() <= 2, "a batch used more than K times"));
    }

    [Fact]
    public async Task OpportunisticReuseWithFreshDataAlwaysWaitingUsesEveryBatchOnce()
    {
        var source = new CountingSource { Ready = new Queue<bool>(Enumerable.Repeat(true, 200)) };
        var buffer = new ImpactCircularBuffer(source, batches: 4, reuses: 2, opportunistic: true);
        for (int i = 0; i < 20; i++)
        {
            var b = await buffer.NextAsync(CancellationToken.None);
            Assert.True(b.Fresh);
            Assert.Equal(i, b.Batch.PolicyVersion);
        }
        Assert.Equal(0, buffer.Reused);
    }

    [Fact]
    public async Task ABufferOfOneBatchUsedOnceIsAPassThrough()
    {
        var source = new CountingSource();
        var buffer = new ImpactCircularBuffer(source, batches: 1, reuses: 1);
        for (int i = 0; i < 5; i++)
        {
            var b = await buffer.NextAsync(CancellationToken.None);
            Assert.True(b.Fresh);
            Assert.Equal(i, b.Batch.PolicyVersion);
        }
    }

    [Fact]
    public void TheTargetNetworkIsCopiedEveryFrequencyTimesNTimesKTrainedBatches()
    {
        var spec = new NetworkSpec(1, [4], Activation.Tanh, new CategoricalHead(2));
        var net = ActorCriticNet.Create(spec, 3);
        var options = new ImpactOptions { BufferBatches = 2, ReusesPerBatch = 3, TargetUpdateFrequency = 2 };
        var learner = new ImpactLearner(net, new Adam(net.Parameters, 1e-2f), options, 40f);
        Assert.Equal(12, options.TargetUpdatePeriod);
        var batch = RandomBatch.Create(PolicySpec.Categorical(2), T: 3, B: 2, seed: 5).Batch;
        for (int i = 1; i <= 30; i++)
        {
            learner.Update(batch);
            bool justCopied = i % 12 == 0;
            Assert.Equal(i / 12, learner.TargetUpdates);
            bool same = learner.TargetNetwork.Parameters.Values.AsSpan().SequenceEqual(net.Parameters.Values);
            Assert.Equal(justCopied, same);
        }
        Assert.Equal(30, learner.Version);
    }

    [Fact]
    public void AReusedBatchSeesTheTargetNetworkAsItIsNowNotAsItWasCached()
    {
        // The learner keeps pi_target's outputs per batch between reuses. With a hard copy after every update the
        // target equals the online network at the start of each update, so KL(pi_target || pi) must be 0 every time;
        // outputs cached from before a copy would show the previous step's change instead.
        var spec = new NetworkSpec(1, [4], Activation.Tanh, new CategoricalHead(3));
        var net = ActorCriticNet.Create(spec, 3);
        var options = new ImpactOptions { BufferBatches = 1, ReusesPerBatch = 1, TargetUpdateFrequency = 1 };
        var learner = new ImpactLearner(net, new Adam(net.Parameters, 5e-2f), options, 40f);
        var batch = RandomBatch.Create(PolicySpec.Categorical(3), T: 4, B: 3, seed: 9).Batch;
        batch.PolicyVersion = -1; // not the target's own data (that would skip the target forward pass under test)
        for (int i = 0; i < 5; i++)
        {
            learner.Update(batch);
            Assert.Equal(0, learner.LastLoss.KlTargetCurrent, 6);
        }
    }

    [Fact]
    public void PerColumnKlSumsAddUpToTheBatchKlAndSkipInvalidSteps()
    {
        var policy = PolicySpec.Categorical(3);
        var s = RandomBatch.Create(policy, T: 4, B: 3, seed: 5).EndEpisode(1, 1, terminated: true);
        var loss = new ImpactLoss(new ImpactOptions(), policy);
        var r = loss.Compute(s.Batch, s.Outputs, s.Values, s.TargetOutputs, 0, s.NewDOutputs(), s.NewDValues());

        ColumnKlAssert.MatchesBehaviourKl(s, loss.ColumnKlSums, loss.ColumnValidSteps, r.Kl, r.ValidSteps);
        Assert.Equal(3, loss.ColumnValidSteps[1]);
    }

    [Fact]
    public void TheLearnerReportsTheLossPerColumnKlForAps()
        => ColumnKlAssert.LearnerReportsPerColumnKl(net => new ImpactLearner(net, new Adam(net.Parameters, 1e-2f), new ImpactOptions(), 40f));

    [Fact]
    public void ActorsThatFollowTheTargetSeeNewParametersOnlyWhenTheTargetIsCopied()
    {
        var spec = new NetworkSpec(1, [4], Activation.Tanh, new CategoricalHead(2));
        var net = ActorCriticNet.Create(spec, 3);
        var options = new ImpactOptions { BufferBatches = 2, ReusesPerBatch = 2, TargetUpdateFrequency = 1, ActorsFollowTarget = true };
        ILearner learner = new ImpactLearner(net, new Adam(net.Parameters, 1e-2f), options, 40f, initialVersion: 10);
        var batch = RandomBatch.Create(PolicySpec.Categorical(2), T: 3, B: 2, seed: 5).Batch;
        var initial = net.Parameters.Values.ToArray();
        for (int i = 1; i <= 9; i++)
        {
            learner.Update(batch);
            long expected = 10 + i / 4 * 4; // copies after updates 4 and 8
            Assert.Equal(10 + i, learner.Version);
            Assert.Equal(expected, learner.ActingVersion);
            Assert.Same(((ImpactLearner)learner).TargetNetwork, learner.ActingNetwork);
            if (i < 4)
                Assert.Equal(initial, learner.ActingNetwork.Parameters.Values);
        }
        var paperNet = ActorCriticNet.Create(spec, 3);
        ILearner paperLearner = new ImpactLearner(paperNet, new Adam(paperNet.Parameters, 1e-2f), options with { ActorsFollowTarget = false }, 40f);
        Assert.Same(paperLearner.Network, paperLearner.ActingNetwork);
    }

    [Fact]
    public void TheTargetForwardPassRunsOnlyWhenTheTargetDiffersFromBothTheBatchAndTheOnlineNetwork()
    {
        // pi_target's outputs come from the batch when the target's parameters acted it, from the online forward pass
        // when no update happened since the last copy (same parameters), and from a target forward pass otherwise.
        // Every way, the loss must be the one computed with an explicit pass of the target network.
        var spec = new NetworkSpec(2, [8], Activation.Tanh, new CategoricalHead(3));
        const int T = 5, B = 4, P = 3, rows = (T + 1) * B;
        var batch = new Trajectory(T, B, 2, 1, P);
        var rng = new Rng(4);
        for (int i = 0; i < batch.Observations.Length; i++) batch.Observations[i] = (float)rng.Uniform(-1, 1);
        void ActWith(ulong networkSeed)
        {
            var outputs = new float[rows * P];
            ActorCriticNet.Create(spec, networkSeed).Forward(batch.Observations, rows, outputs, new float[rows]);
            outputs.AsSpan(0, T * B * P).CopyTo(batch.BehaviourPolicy);
        }
        ActWith(7); // the learners' initial parameters
        for (int i = 0; i < T * B; i++)
        {
            batch.Valid[i] = true;
            batch.Rewards[i] = (float)rng.Uniform(0, 1);
            batch.Actions[i] = Categorical.Sample(batch.BehaviourPolicy.AsSpan(i * P, P), ref rng);
        }
        var options = new ImpactOptions();

        double ReferenceLoss(ImpactLearner learner)
        {
            var online = new float[rows * P];
            var values = new float[rows];
            learner.Network.Forward(batch.Observations, rows, online, values);
            var target = new float[rows * P];
            learner.TargetNetwork.Forward(batch.Observations, rows, target, new float[rows]);
            return new ImpactLoss(options, spec.Head.Distribution).Compute(batch, online, values, target.AsSpan(0, T * B * P),
                learner.KlCoefficient, new float[rows * P], new float[rows]).TotalLoss;
        }
        ImpactLearner NewLearner()
        {
            var net = ActorCriticNet.Create(spec, 7);
            return new ImpactLearner(net, new Adam(net.Parameters, 1e-2f), options, 40f, initialVersion: 3);
        }

        var (fromBatch, fromOnline) = (NewLearner(), NewLearner());
        batch.PolicyVersion = 3; // the target's version: its outputs are the batch's behaviour outputs
        double expected = ReferenceLoss(fromBatch);
        fromBatch.Update(batch);
        batch.PolicyVersion = 2; // an older target (other parameters) acted it, but nothing trained since the copy
        ActWith(8);
        double expectedOffTarget = ReferenceLoss(fromOnline);
        fromOnline.Update(batch);
        Assert.Equal(0, fromBatch.TargetForwards);
        Assert.Equal(0, fromOnline.TargetForwards);
        Assert.Equal(expected, fromBatch.LastLoss.TotalLoss, 5);
        Assert.Equal(expectedOffTarget, fromOnline.LastLoss.TotalLoss, 5);
        Assert.NotEqual(expected, expectedOffTarget, 3); // the behaviour policy matters to the loss
        Assert.NotEqual(ActorCriticNet.Create(spec, 7).Parameters.Values, fromOnline.Network.Parameters.Values); // it did train

        // One update later (no copy yet: the period is 16) target and online differ: the pass runs.
        Assert.NotEqual(fromOnline.Version, fromOnline.TargetVersion);
        expected = ReferenceLoss(fromOnline);
        fromOnline.Update(batch);
        Assert.Equal(1, fromOnline.TargetForwards);
        Assert.Equal(expected, fromOnline.LastLoss.TotalLoss, 5);
    }
}
