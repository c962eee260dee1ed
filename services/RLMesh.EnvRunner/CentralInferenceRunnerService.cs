using System.Net.WebSockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Hosting;
using RLMesh.Remote;
using RLMesh.Remote.Env;

namespace RLMesh.EnvRunner;

/// <summary>
/// The env-runner role in mode central-inference (SEED RL, docs/remote.md): no model and no RabbitMQ; the runner dials
/// the learner's inference endpoint (<see cref="EnvRunnerOptions.Connect"/>), sends its sub-envs' observations each
/// vector step and steps them with the actions it gets back. It redials (every second) while the learner is not up yet
/// or after it went away, until the host stops.
/// </summary>
public sealed partial class CentralInferenceRunnerService(
    ClusterOptions cluster,
    EnvRunnerOptions options,
    ServiceHealth health,
    ILogger<CentralInferenceRunnerService> logger) : BackgroundService
{
    private const string Component = "env-runner";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Uri.TryCreate(options.Connect, UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss"))
            throw new ArgumentException($"Runner:Connect must be the learner's ws:// inference URL in mode central-inference, not '{options.Connect}'");
        string id = options.EffectiveId;
        health.NotReady(Component, "connecting");
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
            try
            {
                Log.Connecting(logger, id, url, options.Envs);
                health.Ready(Component);
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
            health.NotReady(Component, "learner unreachable");
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
