using System.Text.Json;
using System.Text.Json.Serialization;

namespace RLMesh.Telemetry.Status;

/// <summary>
/// The parameter server's GET /status body, and what `rlmesh status` and `rlmesh launch` read: one record for both
/// sides (JSON, snake_case, <see cref="JsonOptions"/>).
/// <code>
/// {"run":"default","latest_version":1234,"frames_per_second":7400.5,"runners_healthy":1,
///  "runners":[{"id":"runner-0","version":1233,"lag":1,"last_seen_seconds":0.4,"healthy":true,"frames":220160,...}],
///  "learner":{"version":1234,"updates":5678,"frames":871040,"state":"running",...},
///  "staleness":{"mean_lag":2.1,"divergence":0.012,"aps_threshold":0.05,"target":8},
///  "collected_versions":1231,"updated_unix_ms":1795000000000}
/// </code>
/// </summary>
public sealed record RunStatus(
    string Run,
    long LatestVersion,
    double FramesPerSecond,
    IReadOnlyList<RunnerStatus> Runners,
    int RunnersHealthy,
    LearnerStatus? Learner,
    StalenessStatus Staleness,
    long CollectedVersions = 0,
    long UpdatedUnixMs = 0)
{
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>
/// One runner as the parameter server sees it from its heartbeats: policy version, lag behind latest, heartbeat age
/// (-1 when never seen), health (a heartbeat within the stale window), and its counters.
/// </summary>
public sealed record RunnerStatus(string Id, long Version, long Lag, double LastSeenSeconds, bool Healthy,
    long Frames = 0, long Episodes = 0, double FramesPerSecond = 0, long WeightPulls = 0, long RejectedSnapshots = 0);

/// <summary>What the learner last reported: <see cref="State"/> is starting, running, solved, max-frames or stopped.</summary>
public sealed record LearnerStatus(long Version, long Updates, long Frames = 0, long Episodes = 0, double? MeanReturn = null,
    double FramesPerSecond = 0, double MeanPolicyLag = 0, string State = "running", long CheckpointVersion = -1, long SentUnixMs = 0);

/// <summary>
/// Mean policy lag in versions over recently trained unrolls, mean KL(behaviour || current) in nats over the runners
/// the learner measured, and for APS the published threshold tau and the staleness target (null when not in use).
/// </summary>
public sealed record StalenessStatus(double MeanLag, double Divergence, double? ApsThreshold = null, double? Target = null);
