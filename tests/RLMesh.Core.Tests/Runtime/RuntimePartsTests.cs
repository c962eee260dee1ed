using RLMesh.Core.Data;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Runtime;

public class RuntimePartsTests
{
    [Fact]
    public void ReturnWindowAveragesOnlyTheLastEpisodes()
    {
        var window = new ReturnWindow(3);
        Assert.Null(window.Mean);
        window.Add(1);
        window.Add(2);
        Assert.False(window.IsFull);
        Assert.Equal(1.5, window.Mean);
        window.Add(3);
        window.Add(10); // pushes out the 1
        Assert.True(window.IsFull);
        Assert.Equal((2 + 3 + 10) / 3.0, window.Mean!.Value, 12);
    }

    [Fact]
    public async Task FullQueueMakesTheProducerWaitUntilTheConsumerTakes()
    {
        var queue = new InMemoryTrajectoryQueue(capacity: 1);
        await queue.EnqueueAsync(new Trajectory(1, 1, 1, 1, 1), CancellationToken.None);
        var second = queue.EnqueueAsync(new Trajectory(1, 1, 1, 1, 1), CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(second.IsCompleted); // back-pressure, not unbounded growth
        Assert.Equal(1, queue.Depth);
        await queue.DequeueAsync(CancellationToken.None);
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, queue.Depth);
    }

    [Fact]
    public async Task WeightStoreHandsOutOnlyNewerVersions()
    {
        var store = new InMemoryWeightStore();
        Assert.Equal(-1, store.LatestVersion);
        Assert.Null(await store.TryGetNewerAsync(-1, CancellationToken.None));
        await store.PublishAsync(new WeightSnapshot(3, [1f, 2f]), CancellationToken.None);
        Assert.Equal(3, (await store.TryGetNewerAsync(2, CancellationToken.None))!.Version);
        Assert.Null(await store.TryGetNewerAsync(3, CancellationToken.None));
    }

    [Fact]
    public void DefaultsAreValidForEveryEnvironment()
    {
        foreach (var spec in RLMesh.Core.Envs.EnvRegistry.All)
            Assert.Empty(TrainingOptions.ForEnvironment(spec.Id).Validate());
    }

    [Fact]
    public void ValidationNamesEveryBadValue()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with { Actors = 0, LearningRate = float.NaN, Hidden = [] };
        var errors = options.Validate();
        Assert.Contains(errors, e => e.Contains("--actors"));
        Assert.Contains(errors, e => e.Contains("--lr"));
        Assert.Contains(errors, e => e.Contains("--hidden"));
    }

    private sealed class RecordingWeightStore : IWeightStore
    {
        private readonly InMemoryWeightStore _inner = new();
        public List<long> Published { get; } = [];
        public long LatestVersion => _inner.LatestVersion;
        public ValueTask PublishAsync(WeightSnapshot snapshot, CancellationToken cancellationToken)
        {
            lock (Published) Published.Add(snapshot.Version);
            return _inner.PublishAsync(snapshot, cancellationToken);
        }
        public ValueTask<WeightSnapshot?> TryGetNewerAsync(long knownVersion, CancellationToken cancellationToken) =>
            _inner.TryGetNewerAsync(knownVersion, cancellationToken);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ImpactActorsThatFollowTheTargetGetOneSnapshotPerTargetCopy(bool follow)
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", AlgorithmDefaults.Impact);
        options = options with { MaxFrames = 40_000, TargetReturn = null, Impact = options.Impact with { ActorsFollowTarget = follow } };
        var store = new RecordingWeightStore();
        var trainer = new EmbeddedTrainer(options, weights: store);
        await trainer.RunAsync(null, default);
        var learner = (RLMesh.Core.Algorithms.ImpactLearner)trainer.Learner;

        Assert.True(learner.TargetUpdates >= 10);
        if (follow)
        {
            // The starting weights, then the target after each copy: versions 0, P, 2P, ...
            long period = options.Impact.TargetUpdatePeriod;
            Assert.Equal(Enumerable.Range(0, (int)learner.TargetUpdates + 1).Select(i => i * period), store.Published);
            Assert.True(learner.TargetForwards < learner.TrainedBatches / 2, $"{learner.TargetForwards} target forwards in {learner.TrainedBatches} updates");
        }
        else
        {
            Assert.Equal(Enumerable.Range(0, (int)learner.Version + 1).Select(i => (long)i), store.Published);
        }
    }
}
