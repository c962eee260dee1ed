using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Hosting;
using RLMesh.Messaging.Redis;
using RLMesh.Core.Sync;
using RLMesh.Telemetry;
using RLMesh.Telemetry.Aps;
using RLMesh.Telemetry.Metrics;
using RLMesh.Telemetry.Status;

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
    /// <summary>Runners silent this long are dropped from /status, from /metrics and from the run's runner set.</summary>
    public double ForgetSeconds { get; set; } = 600;
}

/// <summary>The parameter server's figures under their metric-catalog names (/stats), and as catalog metrics (/metrics).</summary>
public sealed class ParameterServerStats(MetricRegistry registry) : IServiceStats
{
    public readonly Gauge RunnersConnected = registry.Gauge(MetricCatalog.RunnersConnected).Value;
    public readonly MetricFamily<Gauge> HeartbeatAge = registry.Gauge(MetricCatalog.RunnerHeartbeatAge);
    public readonly MetricFamily<Gauge> VersionLag = registry.Gauge(MetricCatalog.RunnerVersionLag);
    public readonly Gauge StalenessTarget = registry.Gauge(MetricCatalog.StalenessTarget).Value;
    public RunStatus? Status { get; internal set; }
    /// <summary>The aps-adaptive tau this parameter server last published (null when it runs no controller).</summary>
    public double? ApsThreshold { get; internal set; }
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
/// liveness from their heartbeats (and drops a runner, with its metric series, once it has been silent for
/// <see cref="ParameterServerOptions.ForgetSeconds"/>), and serves it all as JSON on GET /status. The learner alone moves <c>latest</c>
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
        var storeOptions = cluster.WeightStore(collectOnPublish: false, hints: false); // it polls
        storeOptions.RetainVersions = options.RetainVersions;
        await using var store = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisWeightStore.ConnectAsync(storeOptions, logger, ct), logger, "Redis", health, Component, stoppingToken);
        await using var state = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisClusterState.ConnectAsync(storeOptions, logger, ct), logger, "Redis", health, Component, stoppingToken);
        health.Ready(Component);
        Log.Started(logger, cluster.Run, options.RetainVersions);
        var sync = cluster.SyncOptions();
        var board = store.CreateDivergenceBoard();
        using var stopController = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var controller = Task.CompletedTask;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        if (sync.Mode == SyncMode.ApsAdaptive)
        {
            stats.StalenessTarget.Set(sync.StalenessTarget);
            IStalenessSource source = string.IsNullOrEmpty(cluster.PrometheusUrl)
                ? new LearnerLagSource(state)
                : new PrometheusStalenessSource(http, new Uri(cluster.PrometheusUrl.EndsWith('/') ? cluster.PrometheusUrl : cluster.PrometheusUrl + "/"));
            Log.Controller(logger, sync.Tau, sync.StalenessTarget, cluster.PrometheusUrl ?? "the learner's lag in Redis");
            controller = new ApsThresholdController(sync.Tau, sync.StalenessTarget)
                .RunAsync(source, new TolerantBoard(board), TimeSpan.FromSeconds(sync.ControllerIntervalSeconds), tau => stats.ApsThreshold = tau, stopController.Token);
        }
        var interval = TimeSpan.FromSeconds(options.PollSeconds);
        try
        {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollAsync(store, state, board, sync, stoppingToken);
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
        finally
        {
            await stopController.CancelAsync();
            await controller;
            await CollectUntilTheLearnerStopsAsync(store, state);
        }
    }

    /// <summary>
    /// Retention on the way out. A learner that stops together with this process (Ctrl-C reaches every process of a
    /// terminal's group; a helm uninstall stops every pod at once) publishes for a moment longer, and those versions
    /// would stay in Redis until a parameter server runs for this run again (an interrupted run left ~450 behind). So it
    /// collects until the learner's status says it stopped, or is older than <see cref="LearnerGoneAfter"/> (it died),
    /// for at most <see cref="StopGrace"/>, then once more. A parameter server stopped alone (a rolling update) therefore
    /// takes up to that long to exit while the learner runs on; `launch` stops it last, after the learner.
    /// </summary>
    private async Task CollectUntilTheLearnerStopsAsync(RedisWeightStore store, RedisClusterState state)
    {
        using var grace = new CancellationTokenSource(StopGrace);
        try
        {
            while (await state.ReadLearnerStatusAsync(grace.Token) is { State: "running" } learner
                   && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - learner.SentUnixMs < LearnerGoneAfter.TotalMilliseconds)
            {
                stats.CollectedVersions += await store.CollectOldVersionsAsync(grace.Token);
                await Task.Delay(TimeSpan.FromMilliseconds(250), grace.Token);
            }
            stats.CollectedVersions += await store.CollectOldVersionsAsync(grace.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.PollFailed(logger, e.Message);
        }
    }

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LearnerGoneAfter = TimeSpan.FromSeconds(3);

    private async Task PollAsync(RedisWeightStore store, RedisClusterState state, IDivergenceBoard board, SyncOptions sync, CancellationToken cancellationToken)
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
        double divergenceSum = 0;
        int divergenceCount = 0;
        foreach (var (id, h) in _lastSeen.OrderBy(p => p.Key, StringComparer.Ordinal).ToList())
        {
            double age = h.SentUnixMs > 0 ? (nowMs - h.SentUnixMs) / 1000.0 : double.PositiveInfinity;
            if (age > options.ForgetSeconds)
            {
                _lastSeen.Remove(id);
                await state.ForgetRunnerAsync(id, cancellationToken);
                // A forgotten runner's series leave /metrics with it, or its last lag and age would be exported forever.
                stats.VersionLag.Remove(id);
                stats.HeartbeatAge.Remove(id);
                continue;
            }
            bool healthy = age <= options.StaleSeconds;
            var runner = new RunnerStatus(id, h.PolicyVersion, Lag(h, latest),
                double.IsFinite(age) ? Math.Round(age, 2) : -1, healthy, h.Frames, h.Episodes, healthy ? Math.Round(h.FramesPerSecond) : 0,
                h.WeightPulls, h.RejectedSnapshots);
            runners.Add(runner);
            stats.VersionLag.WithLabels(id).Set(runner.Lag);
            if (runner.LastSeenSeconds >= 0)
                stats.HeartbeatAge.WithLabels(id).Set(runner.LastSeenSeconds);
            if (healthy && await board.ReadDivergenceAsync(id, cancellationToken) is { } reading)
            {
                divergenceSum += reading.Divergence;
                divergenceCount++;
            }
        }
        int connected = runners.Count(r => r.Healthy);
        stats.RunnersConnected.Set(connected);
        var staleness = new StalenessStatus(learner?.MeanPolicyLag ?? 0, divergenceCount > 0 ? divergenceSum / divergenceCount : 0,
            sync.Mode == SyncMode.Aps ? sync.Tau : stats.ApsThreshold, sync.Mode == SyncMode.ApsAdaptive ? sync.StalenessTarget : null);
        stats.Status = new RunStatus(cluster.Run, latest, runners.Sum(r => r.FramesPerSecond), runners, connected,
            learner is null ? null : new RLMesh.Telemetry.Status.LearnerStatus(learner.Version, learner.Updates, learner.Frames, learner.Episodes, learner.MeanReturn,
                learner.FramesPerSecond, learner.MeanPolicyLag, learner.State, learner.CheckpointVersion, learner.SentUnixMs),
            staleness, stats.CollectedVersions, nowMs);
    }

    /// <summary>
    /// A runner's version lag as of its last heartbeat: the latest version it read when it sent the heartbeat minus its
    /// own, both taken at that one moment, so the learner's progress since the heartbeat does not count. A heartbeat
    /// without a latest version (a runner from before it was sent) falls back to the latest version now minus the
    /// heartbeat's, which includes up to one heartbeat interval of learner progress. A runner without weights yet is
    /// latest + 1 behind.
    /// </summary>
    internal static long Lag(RunnerHeartbeat heartbeat, long latest) =>
        heartbeat.PolicyVersion < 0 ? latest + 1
        : heartbeat.LatestVersion >= heartbeat.PolicyVersion ? heartbeat.LatestVersion - heartbeat.PolicyVersion
        : Math.Max(0, latest - heartbeat.PolicyVersion);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Parameter server for run {Run}: retaining the newest {Retain} versions")]
        public static partial void Started(ILogger logger, string run, int retain);

        [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Parameter server poll failed: {Reason}")]
        public static partial void PollFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 3403, Level = LogLevel.Information,
            Message = "aps-adaptive: steering tau (from {Tau}) to hold a mean policy lag of {Target} versions, reading {Source}")]
        public static partial void Controller(ILogger logger, double tau, double target, string source);
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
        builder.Services.AddSingleton(sp => new ParameterServerStats(sp.GetRequiredService<MetricRegistry>()));
        builder.Services.AddSingleton<IServiceStats>(sp => sp.GetRequiredService<ParameterServerStats>());
        builder.Services.AddSingleton<IHostedService>(sp => new ParameterServerService(
            sp.GetClusterOptions(), options, sp.GetRequiredService<ParameterServerStats>(), sp.GetRequiredService<ServiceHealth>(),
            sp.GetRequiredService<ILogger<ParameterServerService>>()));
        return builder;
    }

    /// <summary>GET /status: latest version, learner status and every runner's version, lag, last-seen, frames/s, health.</summary>
    public static WebApplication MapParameterServer(this WebApplication app)
    {
        app.MapGet("/status", (ParameterServerStats stats) => stats.Status is { } status
            ? Results.Json(status, RunStatus.JsonOptions)
            : Results.Json(new { state = "starting" }, JsonDefaults.Options, statusCode: 503));
        return app;
    }
}

/// <summary>
/// aps-adaptive without Prometheus: the learner's mean policy lag over its last report interval, from its status in
/// Redis; no figure (the controller holds tau) when the learner is not running or its report is older than 5 s.
/// </summary>
internal sealed class LearnerLagSource(RedisClusterState state) : IStalenessSource
{
    private long _lastSent;

    public async ValueTask<double?> ReadMeanLagAsync(CancellationToken cancellationToken)
    {
        var learner = await state.ReadLearnerStatusAsync(cancellationToken).ConfigureAwait(false);
        if (learner is null || learner.State != "running" || learner.SentUnixMs == _lastSent
            || DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - learner.SentUnixMs > 5000)
            return null;
        _lastSent = learner.SentUnixMs;
        return learner.MeanPolicyLag;
    }
}

/// <summary>The controller's board writes survive a Redis outage: a failed write is logged by the poll loop's readiness, not fatal.</summary>
internal sealed class TolerantBoard(IDivergenceBoard inner) : IDivergenceBoard
{
    public ValueTask PublishDivergenceAsync(string runner, DivergenceReading reading, CancellationToken cancellationToken) =>
        inner.PublishDivergenceAsync(runner, reading, cancellationToken);

    public ValueTask<DivergenceReading?> ReadDivergenceAsync(string runner, CancellationToken cancellationToken) =>
        inner.ReadDivergenceAsync(runner, cancellationToken);

    public async ValueTask PublishThresholdAsync(double tau, CancellationToken cancellationToken)
    {
        try
        {
            await inner.PublishThresholdAsync(tau, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Redis is away: runners keep the last tau they read; the next step publishes again.
        }
    }

    public ValueTask<double?> ReadThresholdAsync(CancellationToken cancellationToken) => inner.ReadThresholdAsync(cancellationToken);
}
