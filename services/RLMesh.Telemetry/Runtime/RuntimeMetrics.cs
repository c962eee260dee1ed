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
    private readonly ConcurrentDictionary<string, Gauge> _divergence = new(StringComparer.Ordinal);
    private readonly MetricFamily<Gauge> _divergenceFamily;
    private readonly string _queueName;
    private LearnerMetrics? _learner;
    private Gauge? _stalenessTarget;

    public RuntimeMetrics(MetricRegistry registry, string queueName = "trajectories")
    {
        _registry = registry;
        _queueName = queueName;
        _divergenceFamily = registry.Gauge(MetricCatalog.PolicyDivergence);
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

    public void UnrollTrained(long lag) => Learner.PolicyLag.Observe(lag);

    public void LearnerUpdated(in LearnerLoss loss, long version, double seconds, double? meanReturn)
    {
        var l = Learner;
        l.Updates.Inc();
        l.UpdateDuration.Observe(seconds);
        l.LossTotal.Set(loss.TotalLoss);
        l.LossPolicy.Set(loss.PolicyLoss);
        l.LossBaseline.Set(loss.BaselineLoss);
        l.LossEntropy.Set(loss.EntropyLoss);
        l.Entropy.Set(loss.Entropy);
        l.Version.Set(version);
        if (meanReturn is double m) l.ReturnMean.Set(m);
    }

    public void SnapshotPublished(double seconds) => Learner.SnapshotPublish.Observe(seconds);

    // Learner-side and per runner: kept apart from the runner-side children, so a learner service never exports
    // empty runner series (frames, pulls ...) and a runner service never exports an empty divergence.
    public void DivergenceMeasured(string runner, double divergence) =>
        (_divergence.TryGetValue(runner, out var gauge) ? gauge : _divergence.GetOrAdd(runner, static (name, family) => family.WithLabels(name), _divergenceFamily))
            .Set(divergence);

    public void StalenessTargetSet(double target) =>
        (_stalenessTarget ??= _registry.Gauge(MetricCatalog.StalenessTarget).Value).Set(target);

    public void QueueDepth(int depth) => Learner.QueueDepth.Set(depth);

    // The learner's series appear with the first learner report, so runner and parameter-server processes (which share
    // this class through ServiceDefaults) do not export a learner version of 0 or an empty lag histogram.
    private LearnerMetrics Learner => _learner ?? Interlocked.CompareExchange(ref _learner, new LearnerMetrics(_registry, _queueName), null) ?? _learner!;

    private sealed class LearnerMetrics(MetricRegistry registry, string queueName)
    {
        public readonly Histogram PolicyLag = registry.Histogram(MetricCatalog.PolicyLag).Value;
        public readonly Histogram UpdateDuration = registry.Histogram(MetricCatalog.LearnerUpdateDuration).Value;
        public readonly Histogram SnapshotPublish = registry.Histogram(MetricCatalog.SnapshotPublishDuration).Value;
        public readonly Counter Updates = registry.Counter(MetricCatalog.LearnerUpdates).Value;
        public readonly Gauge LossTotal = registry.Gauge(MetricCatalog.LearnerLoss).WithLabels("total");
        public readonly Gauge LossPolicy = registry.Gauge(MetricCatalog.LearnerLoss).WithLabels("policy");
        public readonly Gauge LossBaseline = registry.Gauge(MetricCatalog.LearnerLoss).WithLabels("baseline");
        public readonly Gauge LossEntropy = registry.Gauge(MetricCatalog.LearnerLoss).WithLabels("entropy");
        public readonly Gauge Entropy = registry.Gauge(MetricCatalog.LearnerEntropy).Value;
        public readonly Gauge Version = registry.Gauge(MetricCatalog.LearnerVersion).Value;
        public readonly Gauge ReturnMean = registry.Gauge(MetricCatalog.EpisodeReturnMean).Value;
        public readonly Gauge QueueDepth = registry.Gauge(MetricCatalog.QueueDepth).WithLabels(queueName);
    }

    private RunnerMetrics Runner(string runner) =>
        _runners.TryGetValue(runner, out var found) ? found : _runners.GetOrAdd(runner, static (name, registry) => new RunnerMetrics(registry, name), _registry);

    private sealed class RunnerMetrics(MetricRegistry registry, string runner)
    {
        public readonly Counter Frames = registry.Counter(MetricCatalog.EnvFrames).WithLabels(runner);
        public readonly Counter Episodes = registry.Counter(MetricCatalog.Episodes).WithLabels(runner);
        public readonly Histogram Returns = registry.Histogram(MetricCatalog.EpisodeReturn).WithLabels(runner);
        // The runner's own view; rlmesh_runner_version_lag belongs to the parameter server (one owner per series).
        public readonly Gauge VersionLag = registry.Gauge(MetricCatalog.RunnerLocalVersionLag).WithLabels(runner);
        public readonly Gauge Threshold = registry.Gauge(MetricCatalog.ApsThreshold).WithLabels(runner);
        public readonly Counter Pulls = registry.Counter(MetricCatalog.WeightPulls).WithLabels(runner);
        public readonly Counter PullBytes = registry.Counter(MetricCatalog.WeightPullBytes).WithLabels(runner);
        public readonly Histogram LoadDuration = registry.Histogram(MetricCatalog.SnapshotLoadDuration).WithLabels(runner);
    }
}
