namespace RLMesh.Core.Data;

/// <summary>
/// A batch for the learner. <see cref="Fresh"/> is true the first time a batch is handed out; a reused
/// batch (IMPACT's circular buffer) is not fresh, so its frames and episodes are not counted again.
/// <see cref="Parts"/> are the unrolls it was made of (for policy-lag accounting).
/// </summary>
public sealed record LearnerBatch(Trajectory Batch, bool Fresh, IReadOnlyList<Trajectory> Parts);

/// <summary>Where a learner's batches come from: straight from the actors' queue, or through a replay buffer.</summary>
public interface IBatchSource
{
    ValueTask<LearnerBatch> NextAsync(CancellationToken cancellationToken);

    /// <summary>
    /// True when <see cref="NextAsync"/> would return a fresh batch without waiting (a hint; false when unknown).
    /// IMPACT's circular buffer reuses a batch only while this is false: reuse then fills time the learner would idle.
    /// </summary>
    bool FreshReady => false;
}
