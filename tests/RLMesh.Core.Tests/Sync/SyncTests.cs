using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using Xunit;

namespace RLMesh.Core.Tests.Sync;

public class SyncPolicyTests
{
    private static SyncContext Context(long local, long latest, int unrolls = 1, DivergenceReading? reading = null, double? published = null) =>
        new(local, latest, unrolls, reading, published);

    [Fact]
    public void NoPolicyPullsWhenNothingNewerIsPublished()
    {
        foreach (var policy in new ISyncPolicy[] { new EveryUnrollSync(), new EveryKSync(1), new ApsSync(1e-9, 1, adaptive: false) })
        {
            Assert.False(policy.ShouldPull(Context(5, 5, unrolls: 100, reading: new DivergenceReading(10, 5, 9))));
            Assert.True(policy.ShouldPull(Context(-1, 0)), $"{policy.Mode} must take the first snapshot");
        }
    }

    [Fact]
    public void EveryUnrollPullsWheneverANewerVersionExists() =>
        Assert.True(new EveryUnrollSync().ShouldPull(Context(3, 4, unrolls: 1)));

    [Fact]
    public void EveryKWaitsForKUnrolls()
    {
        var policy = new EveryKSync(4);
        Assert.False(policy.ShouldPull(Context(3, 9, unrolls: 3)));
        Assert.True(policy.ShouldPull(Context(3, 9, unrolls: 4)));
    }

    [Fact]
    public void ApsPullsOnlyWhenTheEstimatedDivergenceExceedsTau()
    {
        var aps = new ApsSync(0.05, 32, adaptive: false);
        Assert.False(aps.ShouldPull(Context(10, 12)));                                                // no reading yet
        Assert.False(aps.ShouldPull(Context(10, 12, reading: new DivergenceReading(0.04, 10, 12))));  // below tau
        Assert.True(aps.ShouldPull(Context(10, 12, reading: new DivergenceReading(0.06, 10, 12))));   // above tau
    }

    [Fact]
    public void ApsScalesTheLearnersDriftPerVersionByTheRunnersLag()
    {
        var aps = new ApsSync(0.05, 64, adaptive: false);
        // Measured 2 versions from the copy (0.02 < tau); the learner is now 10 versions ahead: 0.02 / 2 x 10 = 0.1 > tau.
        var reading = new DivergenceReading(0.02, 10, 12);
        Assert.False(aps.ShouldPull(Context(10, 12, reading: reading)));
        Assert.True(aps.ShouldPull(Context(10, 20, reading: reading)));
        Assert.Equal(0.1, reading.EstimateFor(10, 20), 12);
    }

    [Fact]
    public void AReadingOfAnOlderCopyStillGivesTheDriftRateForTheCurrentOne()
    {
        var aps = new ApsSync(0.05, 64, adaptive: false);
        // Copy 9 measured against 12: 0.09 over 3 versions = 0.03 per version. The runner now holds 20.
        var reading = new DivergenceReading(0.09, 9, 12);
        Assert.False(aps.ShouldPull(Context(20, 21, reading: reading))); // 0.03 x 1
        Assert.True(aps.ShouldPull(Context(20, 22, reading: reading)));  // 0.03 x 2
        Assert.Equal(0.06, reading.EstimateFor(20, 22), 12);
    }

    [Fact]
    public void AReadingWithoutADistanceCountsOnlyForTheCopyItMeasured()
    {
        var reading = new DivergenceReading(0.2, 10, 10);
        Assert.Equal(0.2, reading.EstimateFor(10, 15));
        Assert.Equal(0, reading.EstimateFor(11, 15));
        Assert.Equal(0, reading.EstimateFor(15, 15)); // no lag, nothing to pull
    }

    [Fact]
    public void TheDefaultLagCapIsSixteenVersions()
    {
        Assert.Equal(16, new SyncOptions().MaxLag);
    }

    [Fact]
    public void ApsPullsAtTheVersionLagCapWhateverTheDivergence()
    {
        var aps = new ApsSync(0.05, 8, adaptive: false);
        Assert.False(aps.ShouldPull(Context(10, 17)));
        Assert.True(aps.ShouldPull(Context(10, 18)));
    }

    [Fact]
    public void AdaptiveApsUsesThePublishedThresholdAndFixedApsIgnoresIt()
    {
        var reading = new DivergenceReading(0.03, 10, 12);
        Assert.True(new ApsSync(0.05, 32, adaptive: true).ShouldPull(Context(10, 12, reading: reading, published: 0.02)));
        Assert.False(new ApsSync(0.05, 32, adaptive: true).ShouldPull(Context(10, 12, reading: reading)));
        Assert.False(new ApsSync(0.05, 32, adaptive: false).ShouldPull(Context(10, 12, reading: reading, published: 0.02)));
    }

    [Theory]
    [InlineData("every-unroll", SyncMode.EveryUnroll)]
    [InlineData("every-k", SyncMode.EveryK)]
    [InlineData("aps", SyncMode.Aps)]
    [InlineData("aps-adaptive", SyncMode.ApsAdaptive)]
    public void ModeNamesRoundTrip(string name, SyncMode mode)
    {
        Assert.Equal(mode, SyncOptions.Parse(name));
        Assert.Equal(name, SyncOptions.Name(mode));
        Assert.Equal(mode, new SyncOptions { Mode = mode }.CreatePolicy().Mode);
    }

    [Fact]
    public void InvalidSyncSettingsAreReported()
    {
        var errors = new SyncOptions { K = 0, Tau = -1, MaxLag = 0, StalenessTarget = double.NaN }.Validate();
        Assert.Equal(4, errors.Count);
        Assert.Null(SyncOptions.Parse("sometimes"));
    }
}

public class DivergenceTrackerTests
{
    [Fact]
    public void EachUnrollsColumnsGoToItsRunner()
    {
        var tracker = new DivergenceTracker(smoothing: 1);
        var parts = new List<Trajectory> { Unroll("a", envs: 2, version: 3), Unroll("b", envs: 1, version: 2) };
        tracker.Observe(parts, [0.2, 0.4, 0.9], [2, 2, 3], learnerVersion: 5);
        Assert.True(tracker.TryGet("a", out var a));
        Assert.Equal(0.15, a.Divergence, 10);           // (0.2 + 0.4) / (2 + 2)
        Assert.Equal(3, a.BehaviourVersion);
        Assert.Equal(5, a.LearnerVersion);
        Assert.True(tracker.TryGet("b", out var b));
        Assert.Equal(0.3, b.Divergence, 10);
        Assert.Equal(["a", "b"], tracker.Touched);
    }

    [Fact]
    public void TheMovingValueSmoothsWithinAVersionRestartsOnANewerOneAndIgnoresOlderOnes()
    {
        var tracker = new DivergenceTracker(smoothing: 0.5);
        tracker.Observe("a", 3, 0.2, 10);
        tracker.Observe("a", 3, 0.4, 11);
        Assert.True(tracker.TryGet("a", out var r));
        Assert.Equal(0.3, r.Divergence, 10);
        tracker.Observe("a", 7, 0.01, 12);               // the runner pulled version 7
        tracker.TryGet("a", out r);
        Assert.Equal(0.01, r.Divergence, 10);
        tracker.Observe("a", 5, 0.9, 13);                // a late unroll from before the pull
        tracker.TryGet("a", out r);
        Assert.Equal(0.01, r.Divergence, 10);
        Assert.Equal(7, r.BehaviourVersion);
        Assert.False(tracker.TryGet("nobody", out _));
    }

    private static Trajectory Unroll(string source, int envs, long version) =>
        new(2, envs, 4, 1, 2) { Source = source, PolicyVersion = version };
}

public class ApsThresholdControllerTests
{
    [Fact]
    public void TauRisesWhileRunnersAreFresherThanTheTargetAndFallsWhenStaler()
    {
        var controller = new ApsThresholdController(0.01, stalenessTarget: 8);
        double up = controller.Step(2);
        Assert.True(up > 0.01);
        double held = controller.Step(null);
        Assert.Equal(up, held);
        double down = controller.Step(20);
        Assert.True(down < up);
        Assert.Equal(down, controller.Step(8)); // on target: unchanged
    }

    [Fact]
    public void TauStaysWithinItsBounds()
    {
        var controller = new ApsThresholdController(0.01, 8, gain: 5, minTau: 1e-3, maxTau: 0.1);
        for (int i = 0; i < 50; i++) controller.Step(0);
        Assert.Equal(0.1, controller.Tau);
        for (int i = 0; i < 50; i++) controller.Step(1000);
        Assert.Equal(1e-3, controller.Tau);
    }

    [Fact]
    public async Task TheControllerLoopPublishesTauOnTheBoard()
    {
        var board = new InMemoryDivergenceBoard();
        var source = new InProcessStalenessSource();
        source.Add(1);
        var controller = new ApsThresholdController(0.01, 8);
        var published = new List<double>();
        using var cts = new CancellationTokenSource();
        var loop = controller.RunAsync(source, board, TimeSpan.FromMilliseconds(5), tau => { lock (published) published.Add(tau); if (published.Count >= 2) cts.Cancel(); }, cts.Token);
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(published.Count >= 2);
        Assert.Equal(0.01, published[0]);
        Assert.True(published[1] > 0.01, "lag 1 is below the target of 8, so tau must rise");
        Assert.Equal(controller.Tau, await board.ReadThresholdAsync(CancellationToken.None));
    }

    [Fact]
    public async Task InProcessStalenessIsTheMeanSinceTheLastRead()
    {
        var source = new InProcessStalenessSource();
        Assert.Null(await source.ReadMeanLagAsync(CancellationToken.None));
        source.Add(2);
        source.Add(4);
        Assert.Equal(3, await source.ReadMeanLagAsync(CancellationToken.None));
        Assert.Null(await source.ReadMeanLagAsync(CancellationToken.None));
    }
}

public class ActorSyncTests
{
    [Fact]
    public async Task AnApsActorPullsOnlyWhenTheBoardSaysItsPolicyDrifted()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1");
        var net = ActorCriticNet.Create(PolicyFactory.SpecFor(options), 1);
        var store = new InMemoryWeightStore();
        var board = new InMemoryDivergenceBoard();
        var actor = new Actor("actor-0", new VectorEnv("CartPole-v1", 2), net.Clone(), 5, 1)
        {
            SyncPolicy = new ApsSync(0.05, 100, adaptive: false),
            DivergenceBoard = board,
        };
        var weights = net.Parameters.Values.ToArray();
        await store.PublishAsync(new WeightSnapshot(0, weights), CancellationToken.None);
        Assert.True(await actor.SyncAsync(store, CancellationToken.None)); // first snapshot
        await store.PublishAsync(new WeightSnapshot(1, weights), CancellationToken.None);
        actor.Unroll();
        Assert.False(await actor.SyncAsync(store, CancellationToken.None));
        await board.PublishDivergenceAsync("actor-0", new DivergenceReading(0.01, 0, 1), CancellationToken.None);
        Assert.False(await actor.SyncAsync(store, CancellationToken.None));
        await board.PublishDivergenceAsync("actor-0", new DivergenceReading(0.2, 0, 1), CancellationToken.None);
        Assert.True(await actor.SyncAsync(store, CancellationToken.None));
        Assert.Equal(1, actor.PolicyVersion);
        Assert.Equal(2, actor.WeightPulls);
        Assert.Equal(2L * weights.Length * sizeof(float), actor.WeightPullBytes);
    }

    [Fact]
    public async Task EmbeddedApsRunPublishesDivergencePerActorAndRespectsTheLagCap()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            MaxFrames = 40_000,
            Sync = new SyncOptions { Mode = SyncMode.Aps, Tau = 1e9, MaxLag = 8 },
        };
        var board = new InMemoryDivergenceBoard();
        var trainer = new EmbeddedTrainer(options) { DivergenceBoard = board };
        var result = await trainer.RunAsync(null, CancellationToken.None);
        for (int a = 0; a < options.Actors; a++)
        {
            var reading = await board.ReadDivergenceAsync($"actor-{a}", CancellationToken.None);
            Assert.NotNull(reading);
            Assert.True(reading.Value.Divergence >= 0);
        }
        // tau is unreachable, so every pull after the first is forced by the lag cap of 8 versions.
        Assert.True(result.Sync.WeightPulls >= options.Actors);
        Assert.True(result.Sync.WeightPulls <= options.Actors * (result.Updates / 8 + 2), $"{result.Sync.WeightPulls} pulls in {result.Updates} updates");
        Assert.Equal(result.Sync.WeightPulls * trainer.Learner.Network.Parameters.Values.Length * sizeof(float), result.Sync.WeightPullBytes);
    }
}
