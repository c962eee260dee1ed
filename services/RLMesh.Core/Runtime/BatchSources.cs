using RLMesh.Core.Data;

namespace RLMesh.Core.Runtime;

/// <summary>Fresh batches straight from the actors' queue: <paramref name="unrolls"/> unrolls concatenated along B.</summary>
public sealed class QueueBatchSource(ITrajectoryQueue queue, int unrolls) : IBatchSource
{
    public bool FreshReady => queue.Depth >= unrolls;

    public async ValueTask<LearnerBatch> NextAsync(CancellationToken cancellationToken)
    {
        var parts = new Trajectory[unrolls];
        for (int k = 0; k < unrolls; k++)
            parts[k] = await queue.DequeueAsync(cancellationToken).ConfigureAwait(false);
        var batch = parts.Length == 1 ? parts[0] : Trajectory.Concatenate(parts);
        return new LearnerBatch(batch, Fresh: true, parts);
    }
}

/// <summary>
/// The synchronous (on-policy) actor loop: after each unroll the actor waits until the learner has
/// published a version newer than the one it acted with. With one unroll per actor per batch
/// (BatchUnrolls == Actors) every batch the learner trains on was produced by the parameters it holds
/// at that moment: policy lag 0. Used by PPO, whose ratio needs on-policy data.
/// </summary>
public static class SynchronousActing
{
    /// <summary>How often a waiting actor looks for the new version.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(1);

    public static async Task RunAsync(Actor actor, ITrajectoryQueue queue, IWeightStore store, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            while (!await actor.RefreshWeightsAsync(store, cancellationToken).ConfigureAwait(false))
                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            var trajectory = actor.Unroll();
            await queue.EnqueueAsync(trajectory, cancellationToken).ConfigureAwait(false);
        }
    }
}
