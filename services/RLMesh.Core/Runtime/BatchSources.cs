using RLMesh.Core.Data;

namespace RLMesh.Core.Runtime;

/// <summary>
/// Fresh batches straight from the actors' queue: <paramref name="unrolls"/> unrolls concatenated along B.
/// With <paramref name="orderBySource"/> the parts are put in order of their actor's name instead of arrival:
/// in a synchronous run every batch then holds the same data in the same columns whichever actor finished first,
/// so a seed reproduces the run exactly (minibatch shuffles, return window).
/// </summary>
public sealed class QueueBatchSource(ITrajectoryQueue queue, int unrolls, bool orderBySource = false) : IBatchSource
{
    public bool FreshReady => queue.Depth >= unrolls;

    public async ValueTask<LearnerBatch> NextAsync(CancellationToken cancellationToken)
    {
        var parts = new Trajectory[unrolls];
        for (int k = 0; k < unrolls; k++)
            parts[k] = await queue.DequeueAsync(cancellationToken).ConfigureAwait(false);
        if (orderBySource)
            Array.Sort(parts, static (x, y) => string.CompareOrdinal(x.Source, y.Source));
        var batch = parts.Length == 1 ? parts[0] : Trajectory.Concatenate(parts);
        return new LearnerBatch(batch, Fresh: true, parts);
    }
}

/// <summary>
/// The synchronous (on-policy) actor loop: after each unroll the actor waits until the learner has
/// published a version newer than the one it acted with. With one unroll per actor per batch
/// (BatchUnrolls == Actors) every batch the learner trains on was produced by the parameters it holds
/// at that moment: policy lag 0. Used by PPO, whose ratio needs on-policy data. The cluster's env-runner
/// runs the same wait (<see cref="AwaitNewerVersionAsync"/>) with a bounded patience, and its learner
/// refuses batches that are not on-policy (<see cref="OffPolicySegments"/>).
/// </summary>
public static class SynchronousActing
{
    /// <summary>How often a waiting actor looks for the new version.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(1);

    public static async Task RunAsync(Actor actor, ITrajectoryQueue queue, IWeightStore store, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // In one process nothing is lost between actor, queue and learner, so the wait needs no patience.
            await AwaitNewerVersionAsync(ct => actor.RefreshWeightsAsync(store, ct), (delay, ct) => Task.Delay(delay, ct),
                PollInterval, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            var trajectory = actor.Unroll();
            await queue.EnqueueAsync(trajectory, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Pulls until the local copy changes (<paramref name="tryPull"/> returns true: a version newer than the one the
    /// actor acted with), waiting with <paramref name="wait"/> (at most <paramref name="poll"/> at a time: a version hint
    /// may end it early) between attempts. Returns false when <paramref name="patience"/> ran out first: the caller then
    /// acts again with the weights it has, which are the newest published ones. That bound is what keeps a cluster
    /// live when the batch its unroll went into never trains (lost with a broker restart, refused by the learner as
    /// mixed), or when a runner's unroll is missing from a batch because the runner died: the waiting runners step
    /// again with the current version and fill the batch. <see cref="Timeout.InfiniteTimeSpan"/>: wait for ever.
    /// </summary>
    public static async Task<bool> AwaitNewerVersionAsync(Func<CancellationToken, ValueTask<bool>> tryPull,
        Func<TimeSpan, CancellationToken, Task> wait, TimeSpan poll, TimeSpan patience, CancellationToken cancellationToken)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        bool forever = patience == Timeout.InfiniteTimeSpan;
        while (true)
        {
            if (await tryPull(cancellationToken).ConfigureAwait(false))
                return true;
            var left = forever ? poll : patience - System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
                return false;
            await wait(left < poll ? left : poll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The parts of a batch (a wire batch names them as segments) that were not produced by the parameters of
    /// <paramref name="learnerVersion"/>; empty when the batch is on-policy. An on-policy learner trains only on
    /// batches for which this is empty.
    /// </summary>
    public static IReadOnlyList<BatchSegment> OffPolicySegments(IReadOnlyList<Trajectory> parts, long learnerVersion)
    {
        List<BatchSegment>? off = null;
        foreach (var part in parts)
            foreach (var segment in part.SegmentsOrSelf())
                if (segment.PolicyVersion != learnerVersion)
                    (off ??= []).Add(segment);
        return off ?? (IReadOnlyList<BatchSegment>)[];
    }
}
