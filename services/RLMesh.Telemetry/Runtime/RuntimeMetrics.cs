using System.Collections.Concurrent;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Runtime;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.Telemetry.Runtime;

/// <summary>
/// The runtime's reports (<see cref="IRuntimeMetrics"/>) as catalog metrics. One instance serves a whole
/// process: the embedded trainer (actors + learner) or one service (a runner reports the runner-side calls, the
/// learner the learner-side ones). Per-runner children are looked up once and cached; no call allocates after
/// a runner's first report.
/// </summary>
public sealed class RuntimeMetrics : IRuntimeMetrics
{
    private readonly MetricRegistry _registry;
    private readonly ConcurrentDictionary<string, RunnerMetrics> _runners = new(StringComparer.Ordinal);
    private readonly Histogram _policyLag, _updateDuration, _snapshotPublish;
    private readonly Counter _updates;
    private readonly Gauge _lossTotal, _lossPolicy, _lossBaseline, _lossEntropy, _entropy, _version, _returnMean, _stalenessTarget, _queueDepth;

    public RuntimeMetrics(MetricRegistry registry, string queueName = "trajectories")
    {
        _registry = registry;
        _policyLag = registry.Histogram(MetricCatalog.PolicyLag).Value;
        _updateDuration = registry.Histogram(MetricCatalog.LearnerUpdateDuration).Value;
        _snapshotPublish = registry.Histogram(MetricCatalog.SnapshotPublishDuration).Value;
        _updates = registry.Counter(MetricCatalog.LearnerUpdates).Value;
        var loss = registry.Gauge(MetricCatalog.LearnerLoss);
        _lossTotal = loss.WithLabels("total");
        _lossPolicy = loss.WithLabels("policy");
        _lossBaseline = loss.WithLabels("baseline");
        _lossEntropy = loss.WithLabels("entropy");
        _entropy = registry.Gauge(MetricCatalog.LearnerEntropy).Value;
        _version = registry.Gauge(MetricCatalog.LearnerVersion).Value;
        _returnMean = registry.Gauge(MetricCatalog.EpisodeReturnMean).Value;
        _stalenessTarget = registry.Gauge(MetricCatalog.StalenessTarget).Value;
        _queueDepth = registry.Gauge(MetricCatalog.QueueDepth).WithLabels(queueName);
    }

    public MetricRegistry Registry => _registry;

    public void UnrollProduced(string runner, int frames, IReadOnlyList<EpisodeStats> episodes)
    {
        var r = Runner(runner);
        r.Frames.Inc(frames);
        if (episodes.Count == 0) return;
        r.Episodes.Inc(episodes.Count);
        for (int i = 0; i < episodes.Count; i++) r.Returns.Observe(episodes[i].Return);
    }

    public void SyncDecided(string runner, long localVersion, long latestVersion, double tau)
    {
        var r = Runner(runner);
        r.VersionLag.Set(Math.Max(0, latestVersion - localVersion));
        if (!double.IsNaN(tau)) r.Threshold.Set(tau);
    }

    public void WeightsPulled(string runner, long bytes, double seconds)
    {
        var r = Runner(runner);
        r.Pulls.Inc();
        r.PullBytes.Inc(bytes);
        r.LoadDuration.Observe(seconds);
    }

    public void UnrollTrained(long lag) => _policyLag.Observe(lag);

    public void LearnerUpdated(in LearnerLoss loss, long version, double seconds, double? meanReturn)
    {
        _updates.Inc();
        _updateDuration.Observe(seconds);
        _lossTotal.Set(loss.TotalLoss);
        _lossPolicy.Set(loss.PolicyLoss);
        _lossBaseline.Set(loss.BaselineLoss);
        _lossEntropy.Set(loss.EntropyLoss);
        _entropy.Set(loss.Entropy);
        _version.Set(version);
        if (meanReturn is double m) _returnMean.Set(m);
    }

    public void SnapshotPublished(double seconds) => _snapshotPublish.Observe(seconds);

    public void DivergenceMeasured(string runner, double divergence) => Runner(runner).Divergence.Set(divergence);

    public void StalenessTargetSet(double target) => _stalenessTarget.Set(target);

    public void QueueDepth(int depth) => _queueDepth.Set(depth);

    private RunnerMetrics Runner(string runner) =>
        _runners.TryGetValue(runner, out var found) ? found : _runners.GetOrAdd(runner, static (name, registry) => new RunnerMetrics(registry, name), _registry);

    private sealed class RunnerMetrics(MetricRegistry registry, string runner)
    {
        public readonly Counter Frames = registry.Counter(MetricCatalog.EnvFrames).WithLabels(runner);
        public readonly Counter Episodes = registry.Counter(MetricCatalog.Episodes).WithLabels(runner);
        public readonly Histogram Returns = registry.Histogram(MetricCatalog.EpisodeReturn).WithLabels(runner);
        public readonly Gauge VersionLag = registry.Gauge(MetricCatalog.RunnerVersionLag).WithLabels(runner);
        public readonly Gauge Threshold = registry.Gauge(MetricCatalog.ApsThreshold).WithLabels(runner);
        public readonly Counter Pulls = registry.Counter(MetricCatalog.WeightPulls).WithLabels(runner);
        public readonly Counter PullBytes = registry.Counter(MetricCatalog.WeightPullBytes).WithLabels(runner);
        public readonly Histogram LoadDuration = registry.Histogram(MetricCatalog.SnapshotLoadDuration).WithLabels(runner);
        public readonly Gauge Divergence = registry.Gauge(MetricCatalog.PolicyDivergence).WithLabels(runner);
    }
}
