using System.Net.WebSockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Hosting;
using RLMesh.Messaging.Redis;
using RLMesh.Remote;
using RLMesh.Remote.Env;

namespace RLMesh.EnvRunner;

/// <summary>
/// The env-runner role in mode central-inference (SEED RL, docs/remote.md): no model and no RabbitMQ; the runner dials
/// the learner's inference endpoint (<see cref="EnvRunnerOptions.Connect"/>), sends its sub-envs' observations each
/// vector step and steps them with the actions it gets back. It redials (every second) while the learner is not up yet
/// or after it went away, until the host stops. It sends the same heartbeats as an actor-mode runner
/// (<see cref="RunnerHeartbeats"/>), so the parameter server's /status and `rlmesh launch` see it: its version is the one
/// that chose its last actions, the learner's own, so its lag is 0 once it has any.
/// </summary>
public sealed partial class CentralInferenceRunnerService(
    ClusterOptions cluster,
    EnvRunnerOptions options,
    ServiceHealth health,
    ILogger<CentralInferenceRunnerService> logger) : BackgroundService
{
    private readonly Lock _progress = new();
    private RemoteEnvRunner? _session;
    // Totals of the sessions that ended (a redial starts a new RemoteEnvRunner with its own counters).
    private long _framesBefore, _episodesBefore, _versionBefore = -1;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Uri.TryCreate(options.Connect, UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss"))
            throw new ArgumentException($"Runner:Connect must be the learner's ws:// inference URL in mode central-inference, not '{options.Connect}'");
        string id = options.EffectiveId;
        string component = $"env-runner/{id}";
        health.NotReady(component, "connecting");
        using var stopHeartbeats = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        // Heartbeats connect to Redis on their own, so the runner drives its envs even while Redis is away.
        var heartbeats = HeartbeatsAsync(id, stopHeartbeats.Token);
        try
        {
            await DriveAsync(url, id, component, stoppingToken);
        }
        finally
        {
            await stopHeartbeats.CancelAsync();
            try { await heartbeats; } catch (OperationCanceledException) { }
        }
    }

    private async Task DriveAsync(Uri url, string id, string component, CancellationToken stoppingToken)
    {
        long attempt = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var runner = new RemoteEnvRunner(new RemoteEnvRunnerOptions
            {
                Url = url,
                EnvId = cluster.Env,
                NumEnvs = options.Envs,
                RunnerId = id,
                Mode = RunnerMode.CentralInference,
                Seed = cluster.Seed * 1_000_003UL + (ulong)(uint)id.GetHashCode(StringComparison.Ordinal) + (ulong)attempt++,
            });
            lock (_progress) _session = runner;
            try
            {
                Log.Connecting(logger, id, url, options.Envs);
                health.Ready(component);
                await runner.RunAsync(stoppingToken);
                Log.Ended(logger, id, runner.Steps);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException)
            {
                Log.Unreachable(logger, id, url, e.Message);
            }
            finally
            {
                EndSession(runner);
            }
            health.NotReady(component, "learner unreachable");
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private void EndSession(RemoteEnvRunner runner)
    {
        lock (_progress)
        {
            _framesBefore += runner.Steps * options.Envs;
            _episodesBefore += runner.Episodes;
            if (runner.PolicyVersion >= 0)
                _versionBefore = runner.PolicyVersion;
            _session = null;
        }
    }

    /// <summary>Frames and episodes over every session; the version that chose the latest actions (which is also the latest version this runner knows).</summary>
    private RunnerProgress Progress()
    {
        lock (_progress)
        {
            var session = _session;
            long frames = _framesBefore + (session?.Steps ?? 0) * options.Envs;
            long episodes = _episodesBefore + (session?.Episodes ?? 0);
            long version = session is { PolicyVersion: >= 0 } ? session.PolicyVersion : _versionBefore;
            return new RunnerProgress(version, version, frames, episodes);
        }
    }

    private async Task HeartbeatsAsync(string id, CancellationToken cancellationToken)
    {
        string component = $"env-runner/{id}/heartbeats";
        await using var state = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisClusterState.ConnectAsync(cluster.WeightStore(collectOnPublish: false), logger, ct), logger, "Redis", health, component, cancellationToken);
        health.Ready(component);
        await RunnerHeartbeats.RunAsync(state, id, TimeSpan.FromSeconds(options.HeartbeatSeconds), _ => ValueTask.FromResult(Progress()), logger, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Runner {Id}: central inference at {Url} with {Envs} envs")]
        public static partial void Connecting(ILogger logger, string id, Uri url, int envs);

        [LoggerMessage(EventId = 3112, Level = LogLevel.Information, Message = "Runner {Id}: the learner closed the session after {Steps} vector steps; redialling")]
        public static partial void Ended(ILogger logger, string id, long steps);

        [LoggerMessage(EventId = 3113, Level = LogLevel.Warning, Message = "Runner {Id}: learner at {Url} not reachable ({Reason}); retrying in 1 s")]
        public static partial void Unreachable(ILogger logger, string id, Uri url, string reason);
    }
}
