using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;

namespace RLMesh.Core.Runtime;

/// <summary>
/// What the runtime reports as it runs, for metrics. Core does no I/O: RLMesh.Telemetry implements this with
/// Prometheus metrics from the catalog. Called on hot paths (once per unroll, pull or update), so
/// implementations must be cheap and must not allocate. Every member has a no-op default.
/// </summary>
public interface IRuntimeMetrics
{
    /// <summary>A runner finished an unroll of <paramref name="frames"/> frames; <paramref name="episodes"/> ended in it.</summary>
    void UnrollProduced(string runner, int frames, IReadOnlyList<EpisodeStats> episodes) { }
    /// <summary>A runner decided whether to pull (tau is NaN for policies without one).</summary>
    void SyncDecided(string runner, long localVersion, long latestVersion, double tau) { }
    /// <summary>A runner loaded a snapshot of <paramref name="bytes"/> bytes in <paramref name="seconds"/>.</summary>
    void WeightsPulled(string runner, long bytes, double seconds) { }
    /// <summary>The learner trained on an unroll that was <paramref name="lag"/> versions old.</summary>
    void UnrollTrained(long lag) { }
    void LearnerUpdated(in LearnerLoss loss, long version, double seconds, double? meanReturn) { }
    void SnapshotPublished(double seconds) { }
    void DivergenceMeasured(string runner, double divergence) { }
    void ThresholdChanged(double tau) { }
    void StalenessTargetSet(double target) { }
    void QueueDepth(int depth) { }
}

/// <summary>Reports nothing.</summary>
public sealed class NullRuntimeMetrics : IRuntimeMetrics
{
    public static readonly NullRuntimeMetrics Instance = new();
}
