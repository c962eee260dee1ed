namespace RLMesh.Telemetry;

public enum MetricType { Counter, Gauge, Histogram }

/// <summary>One metric the platform exposes. Dashboards, alerts and autoscaling may name only these.</summary>
public sealed record MetricDefinition(string Name, MetricType Type, string Unit, string[] Labels, string Help)
{
    /// <summary>Histogram bucket upper bounds (ascending, +Inf implied); null for counters and gauges.</summary>
    public double[]? Buckets { get; init; }
}

/// <summary>
/// The one catalog of metrics. Names follow Prometheus conventions (base units, _total for counters,
/// _seconds/_bytes suffixes). Every service exposes the subset it produces under /metrics.
/// </summary>
public static class MetricCatalog
{
    private static readonly double[] SecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] VersionBuckets = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128];
    // Spans the classic-control tasks: Pendulum/Acrobot/MountainCar returns are negative, CartPole's top out at 500.
    private static readonly double[] ReturnBuckets = [-1000, -500, -200, -100, -50, 0, 10, 25, 50, 100, 200, 300, 400, 475, 500, 1000];

    public static readonly MetricDefinition EnvFrames = new("rlmesh_env_frames_total", MetricType.Counter, "frames", ["runner"], "Environment steps taken by a runner.");
    public static readonly MetricDefinition Episodes = new("rlmesh_episodes_total", MetricType.Counter, "episodes", ["runner"], "Episodes finished by a runner.");
    public static readonly MetricDefinition EpisodeReturn = new("rlmesh_episode_return", MetricType.Histogram, "return", ["runner"], "Undiscounted return of finished episodes.") { Buckets = ReturnBuckets };
    public static readonly MetricDefinition EpisodeReturnMean = new("rlmesh_episode_return_mean", MetricType.Gauge, "return", [], "Mean return over the last 100 episodes the learner consumed.");
    public static readonly MetricDefinition PolicyLag = new("rlmesh_policy_lag_versions", MetricType.Histogram, "versions", [], "Learner version minus the version that produced each trained unroll.") { Buckets = VersionBuckets };
    public static readonly MetricDefinition PolicyDivergence = new("rlmesh_policy_divergence", MetricType.Gauge, "nats", ["runner"], "Moving KL(behaviour || current) over a runner's recent unrolls, as measured by the learner.");
    // Two views of one lag with two owners, so no series comes from two jobs: the parameter server's (from heartbeats;
    // the one dashboards and alerts read) and the runner's own (what its sync policy acted on; also the embedded trainer's).
    public static readonly MetricDefinition RunnerVersionLag = new("rlmesh_runner_version_lag", MetricType.Gauge, "versions", ["runner"], "Versions a runner's policy was behind the newest published one when it sent its last heartbeat (exported by the parameter server).");
    public static readonly MetricDefinition RunnerLocalVersionLag = new("rlmesh_runner_local_version_lag", MetricType.Gauge, "versions", ["runner"], "Newest version a runner has heard of minus the version of its own policy copy, at its last sync decision (exported by the runner).");
    public static readonly MetricDefinition WeightPulls = new("rlmesh_weight_pulls_total", MetricType.Counter, "pulls", ["runner"], "Weight snapshots a runner loaded.");
    public static readonly MetricDefinition WeightPullBytes = new("rlmesh_weight_pull_bytes_total", MetricType.Counter, "bytes", ["runner"], "Bytes of weight snapshots a runner loaded.");
    public static readonly MetricDefinition ApsThreshold = new("rlmesh_aps_threshold", MetricType.Gauge, "nats", ["runner"], "Divergence above which a runner pulls new weights (APS tau).");
    public static readonly MetricDefinition LearnerUpdates = new("rlmesh_learner_updates_total", MetricType.Counter, "updates", [], "Learner updates applied.");
    public static readonly MetricDefinition LearnerUpdateDuration = new("rlmesh_learner_update_duration_seconds", MetricType.Histogram, "seconds", [], "Wall time of one learner update.") { Buckets = SecondsBuckets };
    public static readonly MetricDefinition LearnerLoss = new("rlmesh_learner_loss", MetricType.Gauge, "loss", ["term"], "Last learner loss by term (total, policy, baseline, entropy).");
    public static readonly MetricDefinition LearnerEntropy = new("rlmesh_learner_entropy", MetricType.Gauge, "nats", [], "Mean policy entropy over the last batch.");
    public static readonly MetricDefinition LearnerBatchesDiscarded = new("rlmesh_learner_batches_discarded_total", MetricType.Counter, "batches", ["reason"], "Batches the learner took and did not train on (stale: an on-policy learner got a part produced by other parameters than its current ones).");
    public static readonly MetricDefinition LearnerVersion = new("rlmesh_learner_version", MetricType.Gauge, "version", [], "Version of the learner's current parameters.");
    public static readonly MetricDefinition QueueDepth = new("rlmesh_queue_depth", MetricType.Gauge, "messages", ["queue"], "Messages waiting in a queue.");
    public static readonly MetricDefinition MessagesPublished = new("rlmesh_messages_published_total", MetricType.Counter, "messages", ["queue"], "Messages published (confirmed) to a queue.");
    public static readonly MetricDefinition MessagesConsumed = new("rlmesh_messages_consumed_total", MetricType.Counter, "messages", ["queue"], "Messages consumed and acknowledged from a queue.");
    public static readonly MetricDefinition DeadLetters = new("rlmesh_dead_letters_total", MetricType.Counter, "messages", ["queue", "reason"], "Messages refused (undecodable or invalid) and dead-lettered.");
    public static readonly MetricDefinition SnapshotPublishDuration = new("rlmesh_snapshot_publish_duration_seconds", MetricType.Histogram, "seconds", [], "Time to write a weight snapshot and flip latest.") { Buckets = SecondsBuckets };
    public static readonly MetricDefinition SnapshotLoadDuration = new("rlmesh_snapshot_load_duration_seconds", MetricType.Histogram, "seconds", ["runner"], "Time to fetch and verify a weight snapshot.") { Buckets = SecondsBuckets };
    public static readonly MetricDefinition SnapshotsRejected = new("rlmesh_snapshots_rejected_total", MetricType.Counter, "snapshots", ["runner"], "Torn or corrupt snapshots refused by a reader.");
    public static readonly MetricDefinition CheckpointAge = new("rlmesh_checkpoint_age_seconds", MetricType.Gauge, "seconds", [], "Seconds since the learner's last checkpoint.");
    public static readonly MetricDefinition RunnerHeartbeatAge = new("rlmesh_runner_heartbeat_age_seconds", MetricType.Gauge, "seconds", ["runner"], "Seconds since a runner's last heartbeat, as seen by the parameter server.");
    public static readonly MetricDefinition RunnersConnected = new("rlmesh_runners_connected", MetricType.Gauge, "runners", [], "Runners with a heartbeat in the last liveness window.");
    public static readonly MetricDefinition StalenessTarget = new("rlmesh_staleness_target_versions", MetricType.Gauge, "versions", [], "Policy-lag target the adaptive APS threshold and the autoscaler steer toward.");

    public static IReadOnlyList<MetricDefinition> All { get; } =
    [
        EnvFrames, Episodes, EpisodeReturn, EpisodeReturnMean, PolicyLag, PolicyDivergence, RunnerVersionLag,
        RunnerLocalVersionLag, WeightPulls, WeightPullBytes, ApsThreshold, LearnerUpdates, LearnerUpdateDuration, LearnerLoss,
        LearnerEntropy, LearnerBatchesDiscarded, LearnerVersion, QueueDepth, MessagesPublished, MessagesConsumed, DeadLetters,
        SnapshotPublishDuration, SnapshotLoadDuration, SnapshotsRejected, CheckpointAge, RunnerHeartbeatAge,
        RunnersConnected, StalenessTarget,
    ];
}
