using System.Collections.Concurrent;

namespace RLMesh.Core.Sync;

/// <summary>
/// The learner's latest divergence estimate for one runner: a moving KL(behaviour || current) over the
/// runner's recent unrolls, measured on unrolls that policy version <see cref="BehaviourVersion"/> produced,
/// against learner version <see cref="LearnerVersion"/>.
/// </summary>
public readonly record struct DivergenceReading(double Divergence, long BehaviourVersion, long LearnerVersion)
{
    /// <summary>
    /// The divergence projected to <paramref name="latestVersion"/>: the reading was measured
    /// <c>LearnerVersion - BehaviourVersion</c> versions away from the runner's copy, but by the time the runner reads it
    /// the learner may be many versions further (in a cluster, the unroll queue, batching and the board write take tens of
    /// versions at hundreds of updates per second). KL between two versions grows at least linearly in the number of
    /// (noisy) updates between them, so the reading is scaled linearly by the version distance; in the embedded runtime the
    /// learner is rarely more than a version ahead of its last reading and the factor is about 1. Never scales down.
    /// </summary>
    public double ProjectedTo(long latestVersion)
    {
        long measured = LearnerVersion - BehaviourVersion;
        long now = latestVersion - BehaviourVersion;
        if (measured <= 0 || now <= measured || !double.IsFinite(Divergence) || Divergence <= 0) return Divergence;
        return Divergence * now / measured;
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
