using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Sync;

namespace RLMesh.Core.Runtime;

/// <summary>
/// The learner's side of APS and metrics, shared by the embedded trainer and the learner service and kept out of
/// their training loops: policy lag of every trained unroll (metrics + in-process staleness), per-runner divergence
/// from the learner's per-column KL (<see cref="ILearner.ColumnKlSums"/>) published on the <see cref="IDivergenceBoard"/>
/// after each update, and the adaptive-threshold controller where the learner's process runs it (embedded mode; in a
/// cluster the parameter server does). Single-threaded: the learner loop owns it.
/// </summary>
public sealed class LearnerReporter(IRuntimeMetrics metrics, IDivergenceBoard board, SyncOptions sync)
{
    private readonly DivergenceTracker _divergence = new(sync.DivergenceSmoothing);
    private readonly List<BatchSegment> _segments = [];

    /// <summary>Mean lag of the unrolls trained since the last read: the adaptive controller's in-process input.</summary>
    public InProcessStalenessSource Staleness { get; } = new();
    public long UnrollsTrained { get; private set; }

    /// <summary>Runs the aps-adaptive controller (no-op for other modes) until cancelled; <paramref name="source"/> null: <see cref="Staleness"/>.</summary>
    public Task StartController(IStalenessSource? source, CancellationToken cancellationToken)
    {
        if (sync.Mode != SyncMode.ApsAdaptive) return Task.CompletedTask;
        metrics.StalenessTargetSet(sync.StalenessTarget);
        var controller = new ApsThresholdController(sync.Tau, sync.StalenessTarget);
        return controller.RunAsync(source ?? Staleness, board, TimeSpan.FromSeconds(sync.ControllerIntervalSeconds), metrics.ThresholdChanged, cancellationToken);
    }

    /// <summary>Before an update: records the lag of every unroll in the batch (a wire batch carries its unrolls as segments).</summary>
    public double Trained(IReadOnlyList<Trajectory> parts, long learnerVersion)
    {
        Segments(parts);
        double lagSum = 0;
        foreach (var segment in _segments)
        {
            long lag = learnerVersion - segment.PolicyVersion;
            lagSum += lag;
            UnrollsTrained++;
            Staleness.Add(lag);
            metrics.UnrollTrained(lag);
        }
        return _segments.Count > 0 ? lagSum / _segments.Count : 0;
    }

    /// <summary>After an update on fresh data: learner metrics, then per-runner divergence onto the board.</summary>
    public async ValueTask UpdatedAsync(ILearner learner, IReadOnlyList<Trajectory> parts, LearnerUpdateStats stats, double seconds,
        double? meanReturn, int queueDepth, CancellationToken cancellationToken)
    {
        metrics.LearnerUpdated(stats.Loss, learner.Version, seconds, meanReturn);
        metrics.QueueDepth(queueDepth);
        Segments(parts);
        // The loss measured KL against the parameters before this update: the version one below the learner's now.
        _divergence.Observe(_segments, learner.ColumnKlSums, learner.ColumnValidSteps, learner.Version - 1);
        foreach (var runner in _divergence.Touched)
        {
            if (!_divergence.TryGet(runner, out var reading)) continue;
            metrics.DivergenceMeasured(runner, reading.Divergence);
            await board.PublishDivergenceAsync(runner, reading, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Segments(IReadOnlyList<Trajectory> parts)
    {
        _segments.Clear();
        foreach (var part in parts) _segments.AddRange(part.SegmentsOrSelf());
    }
}
