using System.Text.Json;

namespace RLMesh.Telemetry.Status;

/// <summary>
/// The parameter server's GET /status body (JSON, camelCase), read by `rlmesh status`.
/// <code>
/// {
///   "latestVersion": 1234,
///   "framesPerSecond": 7400.5,
///   "runners": [ { "id": "runner-0", "version": 1233, "lag": 1, "lastSeenSeconds": 0.4, "healthy": true } ],
///   "learner": { "version": 1234, "updates": 5678 },
///   "staleness": { "meanLag": 2.1, "divergence": 0.012 }
/// }
/// </code>
/// </summary>
public sealed record RunStatus(
    long LatestVersion,
    double FramesPerSecond,
    IReadOnlyList<RunnerStatus> Runners,
    LearnerStatus Learner,
    StalenessStatus Staleness)
{
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>One runner as the parameter server sees it: its policy version, lag behind latest, heartbeat age.</summary>
public sealed record RunnerStatus(string Id, long Version, long Lag, double LastSeenSeconds, bool Healthy);

public sealed record LearnerStatus(long Version, long Updates);

/// <summary>Mean policy lag in versions over recent trained unrolls, and mean KL(behaviour || current) in nats.</summary>
public sealed record StalenessStatus(double MeanLag, double Divergence);
