using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RLMesh.Messaging.Redis;

namespace RLMesh.EnvRunner;

/// <summary>
/// What a runner says about itself in a heartbeat, read just before each send. <see cref="PolicyVersion"/> and
/// <see cref="LatestVersion"/> belong to the same moment: the parameter server reports their difference as the runner's lag.
/// </summary>
internal readonly record struct RunnerProgress(long PolicyVersion, long LatestVersion, long Frames, long Episodes, long WeightPulls = 0, long RejectedSnapshots = 0);

/// <summary>
/// The heartbeat every env-runner sends, in both modes (<see cref="EnvRunnerService"/>, <see cref="CentralInferenceRunnerService"/>):
/// every <paramref name="interval"/> it reads the runner's progress and writes it to Redis with a TTL of five intervals, so
/// the parameter server sees a dead runner vanish. A failed read or write is logged and the next beat tries again.
/// </summary>
internal static partial class RunnerHeartbeats
{
    public static async Task RunAsync(RedisClusterState state, string runnerId, TimeSpan interval,
        Func<CancellationToken, ValueTask<RunnerProgress>> readProgress, ILogger logger, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long lastFrames = 0;
        double lastSeconds = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var progress = await readProgress(cancellationToken).ConfigureAwait(false);
                double seconds = clock.Elapsed.TotalSeconds;
                double fps = seconds > lastSeconds ? (progress.Frames - lastFrames) / (seconds - lastSeconds) : 0;
                (lastFrames, lastSeconds) = (progress.Frames, seconds);
                var heartbeat = new RunnerHeartbeat(runnerId, progress.PolicyVersion, progress.Frames, progress.Episodes, fps,
                    progress.WeightPulls, progress.RejectedSnapshots, Environment.MachineName, Environment.ProcessId,
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), progress.LatestVersion);
                await state.SendHeartbeatAsync(heartbeat, interval * 5, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.HeartbeatFailed(logger, runnerId, e.Message);
            }
            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Runner {RunnerId} heartbeat failed: {Reason}")]
        public static partial void HeartbeatFailed(ILogger logger, string runnerId, string reason);
    }
}
