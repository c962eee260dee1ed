using System.Diagnostics;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Runtime;

/// <summary>The on-policy lockstep pieces the embedded actors and the cluster's runners and learner share.</summary>
public class SynchronousActingTests
{
    private static Actor NewActor(out ActorCriticNet net)
    {
        var spec = PolicyFactory.SpecFor(EnvRegistry.Spec("CartPole-v1").ObservationSpace, EnvRegistry.Spec("CartPole-v1").ActionSpace, [8], Activation.Tanh);
        net = ActorCriticNet.Create(spec, 1);
        return new Actor("runner-0", new VectorEnv("CartPole-v1", 2), net.Clone(), 4, 7);
    }

    [Fact]
    public async Task AWaitingActorTakesTheNextVersionAsSoonAsItIsPublished()
    {
        var actor = NewActor(out var net);
        var store = new InMemoryWeightStore();
        await store.PublishAsync(new WeightSnapshot(3, net.Parameters.Values.ToArray()), default);
        Assert.True(await actor.RefreshWeightsAsync(store, default));
        actor.Unroll();

        int waits = 0;
        var waited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = SynchronousActing.AwaitNewerVersionAsync(ct => actor.RefreshWeightsAsync(store, ct),
            async (delay, ct) => { Interlocked.Increment(ref waits); waited.TrySetResult(); await Task.Delay(delay, ct); },
            TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(30), default);
        // Wait for its first wait (no sleeping on a guess: a busy machine can delay the poll loop arbitrarily).
        await waited.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted); // v3 is what it acted with: no newer version yet
        await store.PublishAsync(new WeightSnapshot(4, net.Parameters.Values.ToArray()), default);

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, actor.PolicyVersion);
        Assert.True(waits >= 1);
    }

    [Fact]
    public async Task AWaitThatRunsOutOfPatienceReturnsFalseAndTheActorKeepsTheNewestVersion()
    {
        // The batch the unroll went into never trained (lost or refused): no newer version comes, and the runner must
        // step again with the weights it has rather than wait for ever.
        var actor = NewActor(out var net);
        var store = new InMemoryWeightStore();
        await store.PublishAsync(new WeightSnapshot(5, net.Parameters.Values.ToArray()), default);
        await actor.RefreshWeightsAsync(store, default);

        var clock = Stopwatch.StartNew();
        bool newer = await SynchronousActing.AwaitNewerVersionAsync(ct => actor.RefreshWeightsAsync(store, ct),
            (delay, ct) => Task.Delay(delay, ct), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200), default);

        Assert.False(newer);
        Assert.InRange(clock.Elapsed.TotalMilliseconds, 190, 5_000);
        Assert.Equal(5, actor.PolicyVersion);
    }

    [Fact]
    public async Task AWaitEndsAtOnceWhenTheNewVersionIsAlreadyThere()
    {
        var actor = NewActor(out var net);
        var store = new InMemoryWeightStore();
        await store.PublishAsync(new WeightSnapshot(0, net.Parameters.Values.ToArray()), default);
        bool waited = false;
        Assert.True(await SynchronousActing.AwaitNewerVersionAsync(ct => actor.RefreshWeightsAsync(store, ct),
            (_, _) => { waited = true; return Task.CompletedTask; }, TimeSpan.FromSeconds(1), TimeSpan.Zero, default));
        Assert.False(waited);
    }

    [Fact]
    public void ABatchIsOnPolicyOnlyWhenEveryPartCarriesTheLearnersVersion()
    {
        Trajectory Part(string source, long version) => new(4, 2, 4, 1, 2) { Source = source, PolicyVersion = version };

        Assert.Empty(SynchronousActing.OffPolicySegments([Part("a", 7), Part("b", 7)], 7));
        Assert.Empty(SynchronousActing.OffPolicySegments([Trajectory.Concatenate([Part("a", 7), Part("b", 7), Part("c", 7)])], 7));

        // A wire batch names its parts as segments: one of them from a runner that acted before the last update.
        var mixed = Trajectory.Concatenate([Part("a", 7), Part("b", 6), Part("c", 7)]);
        var off = SynchronousActing.OffPolicySegments([mixed], 7);
        Assert.Equal([new BatchSegment("b", 2, 6)], off);

        // A redelivered batch after a learner restart: every part is older than the learner.
        Assert.Equal(2, SynchronousActing.OffPolicySegments([Trajectory.Concatenate([Part("a", 7), Part("b", 7)])], 9).Count);
        // Newer than the learner cannot be trained either (another learner's version).
        Assert.Single(SynchronousActing.OffPolicySegments([Part("a", 8)], 7));
    }

    [Fact]
    public async Task ASynchronousBatchHoldsItsPartsInActorOrderWhateverTheArrivalOrder()
    {
        var queue = new InMemoryTrajectoryQueue(8);
        foreach (var source in new[] { "actor-2", "actor-0", "actor-1" })
            await queue.EnqueueAsync(new Trajectory(4, 2, 4, 1, 2) { Source = source }, default);

        var batch = await new QueueBatchSource(queue, 3, orderBySource: true).NextAsync(default);

        Assert.Equal(["actor-0", "actor-1", "actor-2"], batch.Parts.Select(p => p.Source));
        Assert.Equal(["actor-0", "actor-1", "actor-2"], batch.Batch.Segments.Select(s => s.Source));
    }

    [Fact]
    public async Task ASynchronousRunWithTheSameSeedEndsWithTheSameParameters()
    {
        // PPO's actors race for the queue; the learner must not see that race: arrival order would change its
        // minibatches, and with them how many frames a seed needs (docs/benchmarks.md#ppo-reproducible).
        async Task<(float[] Parameters, double? Mean)> Run()
        {
            var options = TrainingOptions.ForEnvironment("CartPole-v1", AlgorithmDefaults.Ppo) with { Seed = 5, MaxFrames = 8 * 1024, TargetReturn = null };
            var trainer = new EmbeddedTrainer(options);
            var result = await trainer.RunAsync(null, default);
            return (trainer.Learner.Network.Parameters.Values.ToArray(), result.FinalMeanReturn);
        }
        var first = await Run();
        var second = await Run();
        Assert.Equal(first.Mean, second.Mean);
        Assert.Equal(first.Parameters, second.Parameters);
        Assert.NotEqual(ActorCriticNet.Create(PolicyFactory.SpecFor(TrainingOptions.ForEnvironment("CartPole-v1", AlgorithmDefaults.Ppo)), 5).Parameters.Values.ToArray(), first.Parameters);
    }
}
