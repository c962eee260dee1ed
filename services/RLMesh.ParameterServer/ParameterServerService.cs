using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Hosting;
using RLMesh.Messaging.Redis;
using RLMesh.Telemetry;

namespace RLMesh.ParameterServer;

/// <summary>Settings of the parameter server, bound from the <c>ParameterServer</c> configuration section.</summary>
public sealed class ParameterServerOptions
{
    public const string Section = "ParameterServer";
    /// <summary>Newest weight versions kept loadable in Redis; older ones are UNLINKed.</summary>
    public int RetainVersions { get; set; } = 3;
    /// <summary>Seconds between status refreshes and retention passes.</summary>
    public double PollSeconds { get; set; } = 1;
    /// <summary>A runner whose last heartbeat is older than this is reported unhealthy.</summary>
    public double StaleSeconds { get; set; } = 10;
    /// <summary>Runners silent this long are dropped from /status and from the run's runner set.</summary>
    public double ForgetSeconds { get; set; } = 600;
}

/// <summary>One runner as the parameter server sees it.</summary>
public sealed record RunnerStatus(string Id, long Version, long Lag, double LastSeenSeconds, long Frames, long Episodes,
    double FramesPerSecond, long WeightPulls, long RejectedSnapshots, bool Healthy);

/// <summary>GET /status.</summary>
public sealed record ClusterStatus(string Run, long LatestVersion, LearnerStatus? Learner, IReadOnlyList<RunnerStatus> Runners,
    int RunnersHealthy, double FramesPerSecond, long CollectedVersions, long UpdatedUnixMs);

/// <summary>The parameter server's figures under their metric-catalog names.</summary>
public sealed class ParameterServerStats : IServiceStats
{
    public ClusterStatus? Status { get; internal set; }
    public long CollectedVersions { get; internal set; }
    public string Component => "parameter-server";

    public object Snapshot() => new Dictionary<string, object?>
    {
        [MetricCatalog.RunnersConnected.Name] = Status?.RunnersHealthy ?? 0,
        [MetricCatalog.RunnerVersionLag.Name] = Status?.Runners.ToDictionary(r => r.Id, r => r.Lag),
        [MetricCatalog.RunnerHeartbeatAge.Name] = Status?.Runners.ToDictionary(r => r.Id, r => r.LastSeenSeconds),
        ["latest_version"] = Status?.LatestVersion ?? -1,
        ["collected_versions"] = CollectedVersions,
    };
}

/// <summary>
/// The parameter server: the one owner of weight retention (keeps the newest <see cref="ParameterServerOptions.RetainVersions"/>
/// versions, UNLINKs older ones; the learner publishes with retention off), tracks each runner's version, lag and
/// liveness from their heartbeats, and serves it all as JSON on GET /status. The learner alone moves <c>latest</c>
/// forward (a compare-and-set in the store); the parameter server reads it.
/// </summary>
public sealed partial class ParameterServerService(
    ClusterOptions cluster,
    ParameterServerOptions options,
    ParameterServerStats stats,
    ServiceHealth health,
    ILogger<ParameterServerService> logger) : BackgroundService
{
    private const string Component = "parameter-server";
    private readonly Dictionary<string, RunnerHeartbeat> _lastSeen = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        health.NotReady(Component, "connecting");
        var storeOptions = cluster.WeightStore(collectOnPublish: false);
        storeOptions.RetainVersions = options.RetainVersions;
        await using var store = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisWeightStore.ConnectAsync(storeOptions, logger, ct), logger, "Redis", health, Component, stoppingToken);
        await using var state = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisClusterState.ConnectAsync(storeOptions, logger, ct), logger, "Redis", health, Component, stoppingToken);
        health.Ready(Component);
        Log.Started(logger, cluster.Run, options.RetainVersions);
        var interval = TimeSpan.FromSeconds(options.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollAsync(store, state, stoppingToken);
                health.Ready(Component);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                health.NotReady(Component, $"Redis: {e.Message}");
                Log.PollFailed(logger, e.Message);
            }
            try
            {
                await Task.Delay(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task PollAsync(RedisWeightStore store, RedisClusterState state, CancellationToken cancellationToken)
    {
        long latest = await store.RefreshLatestVersionAsync(cancellationToken);
        int collected = await store.CollectOldVersionsAsync(cancellationToken);
        stats.CollectedVersions += collected;
        var learner = await state.ReadLearnerStatusAsync(cancellationToken);
        long nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var (id, heartbeat) in await state.ReadHeartbeatsAsync(cancellationToken))
        {
            if (heartbeat is not null)
                _lastSeen[id] = heartbeat;
            else if (!_lastSeen.ContainsKey(id))
                _lastSeen[id] = new RunnerHeartbeat(id, -1, 0, 0, 0, 0, 0, "", 0, 0);
        }
        var runners = new List<RunnerStatus>();
        foreach (var (id, h) in _lastSeen.OrderBy(p => p.Key, StringComparer.Ordinal).ToList())
        {
            double age = h.SentUnixMs > 0 ? (nowMs - h.SentUnixMs) / 1000.0 : double.PositiveInfinity;
            if (age > options.ForgetSeconds)
            {
                _lastSeen.Remove(id);
                await state.ForgetRunnerAsync(id, cancellationToken);
                continue;
            }
            bool healthy = age <= options.StaleSeconds;
            runners.Add(new RunnerStatus(id, h.PolicyVersion, h.PolicyVersion < 0 ? latest + 1 : Math.Max(0, latest - h.PolicyVersion),
                double.IsFinite(age) ? Math.Round(age, 2) : -1, h.Frames, h.Episodes, healthy ? Math.Round(h.FramesPerSecond) : 0,
                h.WeightPulls, h.RejectedSnapshots, healthy));
        }
        stats.Status = new ClusterStatus(cluster.Run, latest, learner, runners, runners.Count(r => r.Healthy),
            runners.Sum(r => r.FramesPerSecond), stats.CollectedVersions, nowMs);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Parameter server for run {Run}: retaining the newest {Retain} versions")]
        public static partial void Started(ILogger logger, string run, int retain);

        [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Parameter server poll failed: {Reason}")]
        public static partial void PollFailed(ILogger logger, string reason);
    }
}

public static class ParameterServerRegistration
{
    /// <summary>Adds the parameter server (options from the <c>ParameterServer</c> section). Map its API with <see cref="MapParameterServer"/>.</summary>
    public static IHostApplicationBuilder AddParameterServer(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(ParameterServerOptions.Section).Get<ParameterServerOptions>() ?? new ParameterServerOptions();
        if (options.RetainVersions < 1)
            throw new ArgumentException("ParameterServer:RetainVersions must be at least 1.");
        var stats = new ParameterServerStats();
        builder.Services.AddSingleton(stats);
        builder.Services.AddSingleton<IServiceStats>(stats);
        builder.Services.AddSingleton<IHostedService>(sp => new ParameterServerService(
            sp.GetClusterOptions(), options, stats, sp.GetRequiredService<ServiceHealth>(),
            sp.GetRequiredService<ILogger<ParameterServerService>>()));
        return builder;
    }

    /// <summary>GET /status: latest version, learner status and every runner's version, lag, last-seen, frames/s, health.</summary>
    public static WebApplication MapParameterServer(this WebApplication app)
    {
        app.MapGet("/status", (ParameterServerStats stats) => stats.Status is { } status
            ? Results.Json(status, JsonDefaults.Options)
            : Results.Json(new { state = "starting" }, JsonDefaults.Options, statusCode: 503));
        return app;
    }
}
