using RLMesh.Hosting;
using RLMesh.Telemetry;

namespace RLMesh.EnvRunner;

/// <summary>A runner's counters under their metric-catalog names (label runner = <see cref="RunnerId"/>).</summary>
public sealed class EnvRunnerStats(string runnerId) : IServiceStats
{
    private long _frames, _episodes, _unrolls, _weightPulls, _weightPullBytes, _rejectedSnapshots, _policyVersion = -1;

    public string RunnerId { get; } = runnerId;
    public string Component => $"env-runner/{RunnerId}";
    public long Frames => Interlocked.Read(ref _frames);
    public long Episodes => Interlocked.Read(ref _episodes);
    public long Unrolls => Interlocked.Read(ref _unrolls);
    public long WeightPulls => Interlocked.Read(ref _weightPulls);
    public long WeightPullBytes => Interlocked.Read(ref _weightPullBytes);
    public long RejectedSnapshots => Interlocked.Read(ref _rejectedSnapshots);
    public long PolicyVersion => Interlocked.Read(ref _policyVersion);

    internal void AddUnroll(int frames, int episodes)
    {
        Interlocked.Add(ref _frames, frames);
        Interlocked.Add(ref _episodes, episodes);
        Interlocked.Increment(ref _unrolls);
    }

    internal void AddPull(long version, long bytes)
    {
        Interlocked.Increment(ref _weightPulls);
        Interlocked.Add(ref _weightPullBytes, bytes);
        Interlocked.Exchange(ref _policyVersion, version);
    }

    private long _pullTicks, _stepTicks, _publishTicks;

    /// <summary>Where the loop's time goes (Stopwatch ticks): pulling weights, stepping, publishing.</summary>
    internal void AddTimes(long pull, long step, long publish)
    {
        Interlocked.Add(ref _pullTicks, pull);
        Interlocked.Add(ref _stepTicks, step);
        Interlocked.Add(ref _publishTicks, publish);
    }

    private static double Seconds(ref long ticks) => Math.Round((double)Interlocked.Read(ref ticks) / System.Diagnostics.Stopwatch.Frequency, 3);

    internal void SetRejectedSnapshots(long value) => Interlocked.Exchange(ref _rejectedSnapshots, value);

    private long _publishRetries, _versionWaitsExpired;

    /// <summary>On-policy: waits for the next version that ran out of patience (the runner stepped again with its version).</summary>
    public long VersionWaitsExpired => Interlocked.Read(ref _versionWaitsExpired);

    internal void AddVersionWaitExpired() => Interlocked.Increment(ref _versionWaitsExpired);

    /// <summary>Unroll publishes sent again after the broker refused them (full queue) or the connection dropped.</summary>
    internal void SetPublishRetries(long value) => Interlocked.Exchange(ref _publishRetries, value);

    public object Snapshot() => new Dictionary<string, object>
    {
        ["runner"] = RunnerId,
        [MetricCatalog.EnvFrames.Name] = Frames,
        [MetricCatalog.Episodes.Name] = Episodes,
        [MetricCatalog.WeightPulls.Name] = WeightPulls,
        [MetricCatalog.WeightPullBytes.Name] = WeightPullBytes,
        [MetricCatalog.SnapshotsRejected.Name] = RejectedSnapshots,
        ["policy_version"] = PolicyVersion,
        ["unrolls"] = Unrolls,
        ["pull_seconds_total"] = Seconds(ref _pullTicks),
        ["step_seconds_total"] = Seconds(ref _stepTicks),
        ["publish_seconds_total"] = Seconds(ref _publishTicks),
        ["publish_retries_total"] = Interlocked.Read(ref _publishRetries),
        ["version_waits_expired_total"] = VersionWaitsExpired,
    };
}
