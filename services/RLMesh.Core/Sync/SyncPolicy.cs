namespace RLMesh.Core.Sync;

/// <summary>When runners take new weights.</summary>
public enum SyncMode
{
    /// <summary>Pull after every unroll when a newer version exists: the IMPALA/TorchBeast baseline.</summary>
    EveryUnroll,
    /// <summary>Pull every K unrolls.</summary>
    EveryK,
    /// <summary>Adaptive Policy Synchronization: pull when the learner-measured divergence exceeds tau, or the version lag reaches a hard cap.</summary>
    Aps,
    /// <summary>APS with tau steered by a controller to hold a staleness target.</summary>
    ApsAdaptive,
}

/// <summary>Sync settings shared by the embedded runtime and the runner service (`--sync ...` flags).</summary>
public sealed record SyncOptions
{
    public SyncMode Mode { get; init; } = SyncMode.EveryUnroll;
    /// <summary>K for <see cref="SyncMode.EveryK"/>.</summary>
    public int K { get; init; } = 4;
    /// <summary>
    /// APS threshold tau in nats of mean per-step KL(behaviour || current); the initial tau in adaptive mode.
    /// 0.1 measured best embedded (`rlmesh bench aps`, CartPole, 3 seeds: -77 % pulls, -3 % frames-to-solve vs
    /// every-unroll); ClusterEnv's README uses 0.05. A cluster's published divergence runs higher (0.3-1.5 nats):
    /// about 0.5 saves pulls there (docs/telemetry.md).
    /// </summary>
    public double Tau { get; init; } = 0.1;
    /// <summary>
    /// Hard cap: an APS runner pulls once the newest version is this many versions ahead of its copy, whatever the divergence.
    /// 16, not 32: a cluster already trains on data a few versions old (queues, prefetch, batching), and runners held
    /// near 32 versions behind made V-trace unstable (CartPole return collapsed from 500 to ~9).
    /// </summary>
    public int MaxLag { get; init; } = 16;
    /// <summary>Mean policy lag (versions) the adaptive controller steers toward.</summary>
    public double StalenessTarget { get; init; } = 8;
    /// <summary>Weight of the newest unroll in the learner's per-runner moving divergence.</summary>
    public double DivergenceSmoothing { get; init; } = 0.5;
    /// <summary>Seconds between adaptive-threshold controller steps.</summary>
    public double ControllerIntervalSeconds { get; init; } = 1.0;

    public static string Name(SyncMode mode) => mode switch
    {
        SyncMode.EveryUnroll => "every-unroll",
        SyncMode.EveryK => "every-k",
        SyncMode.Aps => "aps",
        SyncMode.ApsAdaptive => "aps-adaptive",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static SyncMode? Parse(string text) => text switch
    {
        "every-unroll" => SyncMode.EveryUnroll,
        "every-k" => SyncMode.EveryK,
        "aps" => SyncMode.Aps,
        "aps-adaptive" => SyncMode.ApsAdaptive,
        _ => null,
    };

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (K < 1) errors.Add("--sync-k must be at least 1");
        if (!(Tau > 0) || !double.IsFinite(Tau)) errors.Add("--aps-tau must be a positive number");
        if (MaxLag < 1) errors.Add("--aps-max-lag must be at least 1");
        if (!(StalenessTarget > 0) || !double.IsFinite(StalenessTarget)) errors.Add("--staleness-target must be a positive number");
        if (!(DivergenceSmoothing > 0 && DivergenceSmoothing <= 1)) errors.Add("the divergence smoothing must be in (0, 1]");
        if (!(ControllerIntervalSeconds > 0)) errors.Add("the controller interval must be positive");
        return errors;
    }

    public ISyncPolicy CreatePolicy() => Mode switch
    {
        SyncMode.EveryUnroll => new EveryUnrollSync(),
        SyncMode.EveryK => new EveryKSync(K),
        SyncMode.Aps => new ApsSync(Tau, MaxLag, adaptive: false),
        SyncMode.ApsAdaptive => new ApsSync(Tau, MaxLag, adaptive: true),
        _ => throw new ArgumentOutOfRangeException(nameof(Mode)),
    };
}

/// <summary>What a runner knows between two unrolls when it decides whether to pull.</summary>
/// <param name="LocalVersion">Version of the runner's policy copy (-1 before the first pull).</param>
/// <param name="LatestVersion">Newest published version.</param>
/// <param name="UnrollsSinceSync">Unrolls produced since the last pull.</param>
/// <param name="Divergence">The learner's reading for this runner, if any.</param>
/// <param name="PublishedThreshold">The adaptive tau, if one is published.</param>
public readonly record struct SyncContext(
    long LocalVersion, long LatestVersion, int UnrollsSinceSync, DivergenceReading? Divergence, double? PublishedThreshold)
{
    public long VersionLag => LatestVersion - LocalVersion;
}

/// <summary>A runner's answer to "pull new weights now?", asked between unrolls.</summary>
public interface ISyncPolicy
{
    SyncMode Mode { get; }
    /// <summary>Whether <see cref="ShouldPull"/> reads the divergence board (runners skip the read otherwise).</summary>
    bool NeedsDivergence => false;
    /// <summary>The tau in force for this context (NaN when the policy has none); exported as rlmesh_aps_threshold.</summary>
    double Threshold(in SyncContext context) => double.NaN;
    bool ShouldPull(in SyncContext context);
}

public sealed class EveryUnrollSync : ISyncPolicy
{
    public SyncMode Mode => SyncMode.EveryUnroll;
    public bool ShouldPull(in SyncContext context) => context.LatestVersion > context.LocalVersion;
}

public sealed class EveryKSync(int k) : ISyncPolicy
{
    public SyncMode Mode => SyncMode.EveryK;
    public int K { get; } = k >= 1 ? k : throw new ArgumentOutOfRangeException(nameof(k));

    public bool ShouldPull(in SyncContext context) =>
        context.LatestVersion > context.LocalVersion && (context.LocalVersion < 0 || context.UnrollsSinceSync >= K);
}

/// <summary>
/// Adaptive Policy Synchronization, pull-based: pull when the estimated divergence of the local copy from the newest
/// weights exceeds tau, or when the version lag reaches the hard cap. The estimate
/// (<see cref="DivergenceReading.EstimateFor"/>) is the learner's latest measured drift per version times the runner's
/// version lag, so it is the same quantity in embedded and distributed runs, and a runner need not wait a whole
/// pipeline after each pull for the learner to measure its new copy.
/// </summary>
public sealed class ApsSync : ISyncPolicy
{
    public ApsSync(double tau, int maxLag, bool adaptive)
    {
        if (!(tau > 0)) throw new ArgumentOutOfRangeException(nameof(tau));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLag, 1);
        Tau = tau;
        MaxLag = maxLag;
        Adaptive = adaptive;
    }

    public SyncMode Mode => Adaptive ? SyncMode.ApsAdaptive : SyncMode.Aps;
    public double Tau { get; }
    public int MaxLag { get; }
    public bool Adaptive { get; }
    public bool NeedsDivergence => true;

    public double Threshold(in SyncContext context) =>
        Adaptive && context.PublishedThreshold is double published ? published : Tau;

    public bool ShouldPull(in SyncContext context)
    {
        if (context.LatestVersion <= context.LocalVersion) return false;
        if (context.LocalVersion < 0 || context.VersionLag >= MaxLag) return true;
        return context.Divergence is { } reading
            && reading.EstimateFor(context.LocalVersion, context.LatestVersion) > Threshold(context);
    }
}
