using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Hosting;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Redis;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.EnvRunner;

/// <summary>
/// The env-runner: steps a vector environment with a local policy copy (Core's <see cref="Actor"/>), publishes each
/// unroll to the run's unroll queue, lets the actor's Core <see cref="RLMesh.Core.Sync.ISyncPolicy"/> decide between unrolls
/// whether to pull weights (<see cref="Actor.SyncAsync"/>: every-unroll, every-k, aps or aps-adaptive, reading the learner's
/// divergence and the parameter server's tau from the Redis APS board), reports catalog metrics through
/// <see cref="IRuntimeMetrics"/>,
/// and sends a heartbeat (<see cref="RunnerHeartbeats"/>: runner id, policy version and the latest version at that moment,
/// frames, episodes) to Redis every <see cref="EnvRunnerOptions.HeartbeatSeconds"/> with a TTL, so the parameter server
/// sees dead runners vanish.
/// It produces nothing until the first weights exist, so every unroll carries a real policy version.
/// With an on-policy algorithm (ppo, <see cref="ClusterOptions.Synchronous"/>) the sync policy is not asked: after every
/// unroll the runner waits for the version after the one it acted with (Core's <see cref="SynchronousActing"/>), at most
/// <see cref="EnvRunnerOptions.VersionWaitSeconds"/>, then steps again with the newest weights (liveness).
/// </summary>
public sealed partial class EnvRunnerService(
    ClusterOptions cluster,
    EnvRunnerOptions options,
    EnvRunnerStats stats,
    IRuntimeMetrics metrics,
    Counter rejectedSnapshots,
    ServiceHealth health,
    ILogger<EnvRunnerService> logger,
    NetworkFactory networks) : BackgroundService
{
    private string Component => stats.Component;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        health.NotReady(Component, "connecting");
        string id = stats.RunnerId;
        await using var queue = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RabbitMqTrajectoryQueue.ConnectAsync(cluster.UnrollQueue(), logger, ct), logger, "RabbitMQ", health, Component, stoppingToken);
        await using var store = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisWeightStore.ConnectAsync(cluster.WeightStore(collectOnPublish: false), logger, ct), logger, "Redis", health, Component, stoppingToken);
        await using var state = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisClusterState.ConnectAsync(cluster.WeightStore(collectOnPublish: false), logger, ct), logger, "Redis", health, Component, stoppingToken);

        // The learner's network, observation scaling included (it was built with scaling on while the learner's is off:
        // behaviour logits then came from another function than the one trained).
        var spec = cluster.PolicySpec();
        var net = networks.Create(spec, cluster.Seed);
        var sync = cluster.SyncOptions();
        var envs = new VectorEnv(ObservationSubset.Factory(cluster.Env, ObservationSubset.Parse(cluster.Observe)), options.Envs);
        // Binary and byte observations (MinAtar frames) travel packed: 1 bit or 1 byte per element instead of 4.
        queue.ObservationEncoding = TrajectoryCodec.EncodingFor(envs.SingleObservationSpace);
        var actor = new Actor(id, envs, net, cluster.UnrollLength, RunnerSeed(cluster.Seed, id))
        {
            SyncPolicy = sync.CreatePolicy(),
            DivergenceBoard = store.CreateDivergenceBoard(),
            Metrics = metrics,
        };
        // On-policy (ppo): after each unroll wait for the next version instead of asking the sync policy (Core's
        // SynchronousActing, as the embedded actors do, with a bounded patience for liveness).
        bool onPolicy = cluster.Synchronous;
        var patience = TimeSpan.FromSeconds(options.VersionWaitSeconds);
        health.Ready(Component);
        Log.Started(logger, id, cluster.Env, options.Envs, cluster.UnrollLength, cluster.Run,
            onPolicy ? $"on-policy ({cluster.Algorithm}: a new version after every unroll)" : RLMesh.Core.Sync.SyncOptions.Name(sync.Mode));
        if (onPolicy && sync.Mode != RLMesh.Core.Sync.SyncMode.EveryUnroll)
            Log.SyncIgnored(logger, id, RLMesh.Core.Sync.SyncOptions.Name(sync.Mode), cluster.Algorithm);

        using var stopHeartbeats = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeats = RunnerHeartbeats.RunAsync(state, id, TimeSpan.FromSeconds(options.HeartbeatSeconds),
            async ct =>
            {
                // The version first, then a fresh read of latest: the lag they give is this moment's, never understated.
                long version = stats.PolicyVersion;
                long latest = await store.RefreshLatestVersionAsync(ct);
                return new RunnerProgress(version, version < 0 ? -1 : Math.Max(latest, version), stats.Frames, stats.Episodes,
                    stats.WeightPulls, store.RejectedSnapshots);
            },
            logger, stopHeartbeats.Token);
        try
        {
            while (actor.PolicyVersion < 0)
            {
                await TryPullAsync(actor, store, net.Parameters.Count, policy: false, stoppingToken);
                if (actor.PolicyVersion < 0)
                    await store.WaitForHintAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
            }
            long lastLook = Stopwatch.GetTimestamp();
            bool first = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                long t0 = Stopwatch.GetTimestamp();
                if (onPolicy)
                {
                    if (!first)
                        await AwaitNextVersionAsync(actor, store, net.Parameters.Count, patience, stoppingToken);
                }
                else
                {
                    // Hints move LatestVersion; a lost hint (Redis reconnect) must not leave a runner that rarely pulls (APS) blind.
                    if (Stopwatch.GetElapsedTime(lastLook, t0) > LatestLookInterval)
                    {
                        await TryAsync(() => store.RefreshLatestVersionAsync(stoppingToken));
                        lastLook = t0;
                    }
                    await TryPullAsync(actor, store, net.Parameters.Count, policy: true, stoppingToken);
                }
                first = false;
                long t1 = Stopwatch.GetTimestamp();
                var unroll = actor.Unroll();
                int episodes = unroll.Episodes.Count;
                long t2 = Stopwatch.GetTimestamp();
                await queue.EnqueueAsync(unroll, stoppingToken);
                stats.AddTimes(t1 - t0, t2 - t1, Stopwatch.GetTimestamp() - t2);
                stats.AddUnroll(unroll.Frames, episodes);
                stats.SetPublishRetries(queue.PublishRetries);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await stopHeartbeats.CancelAsync();
            try { await heartbeats; } catch (OperationCanceledException) { }
            Log.Stopped(logger, id, stats.Frames, stats.Episodes);
        }
    }

    private static readonly TimeSpan LatestLookInterval = TimeSpan.FromMilliseconds(500);
    /// <summary>On-policy: a waiting runner polls Redis this often in case a version hint was lost (hints end waits early).</summary>
    private static readonly TimeSpan VersionPollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// On-policy: waits until a version newer than the one the last unroll was stepped with is published and loads it.
    /// When <paramref name="patience"/> runs out the runner steps again with the newest weights it can get (usually the
    /// same version) and says so: the batch its unroll went into may never train (lost or refused), or may lack a dead
    /// runner's unroll, and the extra unroll of the current version completes the next one.
    /// </summary>
    private async Task AwaitNextVersionAsync(Actor actor, RedisWeightStore store, int parameterCount, TimeSpan patience, CancellationToken cancellationToken)
    {
        long acted = actor.PolicyVersion;
        bool newer = await SynchronousActing.AwaitNewerVersionAsync(
            ct => new ValueTask<bool>(TryPullAsync(actor, store, parameterCount, policy: false, ct)),
            (delay, ct) => store.WaitForVersionAboveAsync(actor.PolicyVersion, delay, ct),
            VersionPollInterval, patience, cancellationToken);
        if (!newer)
        {
            stats.AddVersionWaitExpired();
            Log.VersionWaitExpired(logger, stats.RunnerId, acted, patience.TotalSeconds, store.LatestVersion);
        }
    }

    /// <summary>
    /// Pulls newer weights: as the sync policy decides (<paramref name="policy"/>), or whenever there are any (the first
    /// weights). Redis trouble is logged and the current weights stay in use.
    /// </summary>
    private async Task<bool> TryPullAsync(Actor actor, RedisWeightStore store, int parameterCount, bool policy, CancellationToken cancellationToken)
    {
        try
        {
            bool changed = policy
                ? await actor.SyncAsync(store, cancellationToken)
                : await actor.RefreshWeightsAsync(store, cancellationToken);
            long rejected = store.RejectedSnapshots;
            long newlyRejected = rejected - stats.RejectedSnapshots;
            if (newlyRejected > 0)
                rejectedSnapshots.Inc(newlyRejected);
            stats.SetRejectedSnapshots(rejected);
            if (changed)
                stats.AddPull(actor.PolicyVersion, 4L * parameterCount);
            return changed;
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(
                $"The published weights do not fit this runner's network ({parameterCount} parameters for {cluster.Env}, hidden {cluster.Hidden}): {e.Message}", e);
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not InvalidOperationException)
        {
            Log.PullFailed(logger, stats.RunnerId, e.Message);
            return false;
        }
    }

    private async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.PullFailed(logger, stats.RunnerId, e.Message);
        }
    }

    /// <summary>Distinct, reproducible environment/sampling seeds per runner id.</summary>
    internal static ulong RunnerSeed(ulong seed, string runnerId)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in runnerId)
            hash = (hash ^ c) * 1099511628211UL;
        return seed * 1_000_003UL ^ hash;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Information,
            Message = "Runner {RunnerId} stepping {Envs} x {Env} (T={Unroll}) for run {Run}, sync {Sync}")]
        public static partial void Started(ILogger logger, string runnerId, string env, int envs, int unroll, string run, string sync);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Runner {RunnerId} stopped after {Frames} frames, {Episodes} episodes")]
        public static partial void Stopped(ILogger logger, string runnerId, long frames, long episodes);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Runner {RunnerId} could not pull weights (keeping its version): {Reason}")]
        public static partial void PullFailed(ILogger logger, string runnerId, string reason);

        [LoggerMessage(EventId = 3104, Level = LogLevel.Warning,
            Message = "Runner {RunnerId} waited {Seconds:F1} s for a version after v{Version} (latest seen v{Latest}); stepping again with the newest weights")]
        public static partial void VersionWaitExpired(ILogger logger, string runnerId, long version, double seconds, long latest);

        [LoggerMessage(EventId = 3105, Level = LogLevel.Warning,
            Message = "Runner {RunnerId}: Sync {Sync} does not apply to on-policy {Algorithm}; the runner takes every new version and waits for it after each unroll")]
        public static partial void SyncIgnored(ILogger logger, string runnerId, string sync, string algorithm);
    }
}
