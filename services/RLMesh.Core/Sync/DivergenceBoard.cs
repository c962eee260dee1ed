using System.Collections.Concurrent;

namespace RLMesh.Core.Sync;

/// <summary>
/// The learner's latest divergence estimate for one runner: a moving KL(behaviour || current) over the
/// runner's recent unrolls, measured on unrolls that policy version <see cref="BehaviourVersion"/> produced,
/// against learner version <see cref="LearnerVersion"/>.
/// </summary>
public readonly record struct DivergenceReading(double Divergence, long BehaviourVersion, long LearnerVersion)
{
    /// <summary>Versions between the copy that produced the measured unrolls and the parameters they were measured against.</summary>
    public long MeasuredDistance => LearnerVersion - BehaviourVersion;

    /// <summary>
    /// The divergence of a runner's copy at <paramref name="localVersion"/> from the newest weights at
    /// <paramref name="latestVersion"/>, estimated from this reading: the learner's drift rate (divergence per version,
    /// <c>Divergence / MeasuredDistance</c>) times the runner's version lag. KL between two versions grows at least
    /// linearly in the number of (noisy) updates between them, so this is conservative.
    /// <para>
    /// Why a rate and not the raw reading: in a cluster the unroll queue, batching and the board write take tens of
    /// versions at hundreds of updates per second, so the raw reading is always measured far behind the newest version,
    /// and a reading of the runner's current copy arrives only a whole pipeline after each pull. Using the raw reading
    /// (and ignoring readings of older copies) left runners waiting for their lag cap: mean lag ~31 of 32 and a
    /// collapsing return. In the embedded runtime the learner is about a version ahead of its last reading and the
    /// runner's copy is the measured one, so the estimate is the reading: tau means the same in both modes.
    /// </para>
    /// </summary>
    public double EstimateFor(long localVersion, long latestVersion)
    {
        long lag = latestVersion - localVersion;
        if (lag <= 0 || !double.IsFinite(Divergence) || Divergence <= 0) return 0;
        long measured = MeasuredDistance;
        if (measured <= 0)
            return BehaviourVersion >= localVersion ? Divergence : 0; // no rate: only a reading of this copy says anything
        return Divergence / measured * lag;
    }
}

/// <summary>
/// The small shared state APS needs (DESIGN.md, data flow step 4): the learner publishes one divergence value
/// per runner, the parameter server (or the embedded trainer) publishes the current APS threshold tau, and
/// runners read both between unrolls. In-memory here; distributed mode puts it in Redis (a hash field per runner
/// plus one key for tau), so every method is a single small read or write.
/// </summary>
public interface IDivergenceBoard
{
    ValueTask PublishDivergenceAsync(string runner, DivergenceReading reading, CancellationToken cancellationToken);
    ValueTask<DivergenceReading?> ReadDivergenceAsync(string runner, CancellationToken cancellationToken);
    ValueTask PublishThresholdAsync(double tau, CancellationToken cancellationToken);
    /// <summary>The adaptive threshold, or null when nobody has published one (runners then use their configured tau).</summary>
    ValueTask<double?> ReadThresholdAsync(CancellationToken cancellationToken);
}

/// <summary>The embedded board: a concurrent dictionary and one volatile double.</summary>
public sealed class InMemoryDivergenceBoard : IDivergenceBoard
{
    private readonly ConcurrentDictionary<string, DivergenceReading> _readings = new(StringComparer.Ordinal);
    private double _threshold = double.NaN;

    public ValueTask PublishDivergenceAsync(string runner, DivergenceReading reading, CancellationToken cancellationToken)
    {
        _readings[runner] = reading;
        return ValueTask.CompletedTask;
    }

    public ValueTask<DivergenceReading?> ReadDivergenceAsync(string runner, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_readings.TryGetValue(runner, out var reading) ? reading : (DivergenceReading?)null);

    public ValueTask PublishThresholdAsync(double tau, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _threshold, tau);
        return ValueTask.CompletedTask;
    }

    public ValueTask<double?> ReadThresholdAsync(CancellationToken cancellationToken)
    {
        double tau = Volatile.Read(ref _threshold);
        return ValueTask.FromResult(double.IsNaN(tau) ? null : (double?)tau);
    }
}
