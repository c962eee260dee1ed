using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RLMesh.Core.Runtime;
using RLMesh.Remote.Env;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Inference;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh bench remote-env` and `rlmesh bench central-inference` (docs/remote.md): the per-step channel over
/// loopback WebSocket on Kestrel. Runners are in-process clients here (same sockets and frames as runner processes,
/// without process start-up in the measurement).
/// </summary>
public static class RemoteBench
{
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command RemoteEnv() => Make("remote-env",
        "RemoteVectorEnv of 16 CartPoles over loopback: step round-trip p50/p99, steps/s with 1, 2 and 4 runners", BenchRemoteEnvAsync);

    public static Command CentralInference() => Make("central-inference",
        "Central inference (4 runners x 8 CartPoles) vs embedded actors: batch sizes, action latency p50/p99, frames/s while training", BenchCentralInferenceAsync);

    private static Command Make(string name, string description, Func<double, CancellationToken, Task<Dictionary<string, object>>> run)
    {
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object on the last line" };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per figure", DefaultValueFactory = _ => 3.0 };
        var command = new Command(name, description) { json, seconds };
        command.SetAction(async (parse, cancellationToken) =>
        {
            double budget = parse.GetValue(seconds);
            if (!(budget > 0)) throw new UsageException("--seconds must be positive");
            var figures = await run(budget, cancellationToken);
            foreach (var (key, value) in figures)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-32} {(value is IDictionary<string, long> d ? JsonSerializer.Serialize(d) : value)}"));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(figures, JsonOutput));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<Dictionary<string, object>> BenchRemoteEnvAsync(double seconds, CancellationToken cancellationToken)
    {
        const int envs = 16;
        var figures = new Dictionary<string, object> { ["envs"] = envs };
        foreach (int runners in new[] { 1, 2, 4 })
        {
            await using var server = await RemoteServer.StartAsync(new RemoteServerOptions { EnvId = "CartPole-v1" }, cancellationToken);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var tasks = new List<Task>();
            for (int r = 0; r < runners; r++)
            {
                var runner = new RemoteEnvRunner(new RemoteEnvRunnerOptions { Url = server.EnvUrl, EnvId = "CartPole-v1", NumEnvs = envs / runners, RunnerId = $"bench-{r}" });
                tasks.Add(Task.Run(() => runner.RunAsync(stop.Token), stop.Token));
            }
            using (var env = await RemoteVectorEnv.CreateAsync(server, envs, null, cancellationToken))
            {
                var actions = new float[envs];
                var obs = new float[envs * env.ObservationSize];
                var rewards = new float[envs];
                var terminated = new bool[envs];
                var truncated = new bool[envs];
                var autoreset = new bool[envs];
                env.Reset(1, obs);
                var samples = new List<double>(1 << 20);
                // Warm-up (JIT, socket buffers), then measure.
                foreach (bool measure in new[] { false, true })
                {
                    var clock = Stopwatch.StartNew();
                    double budget = measure ? seconds : Math.Min(1.0, seconds);
                    long steps = 0;
                    while (clock.Elapsed.TotalSeconds < budget)
                    {
                        for (int i = 0; i < envs; i++) actions[i] = (steps + i) & 1;
                        long started = Stopwatch.GetTimestamp();
                        env.Step(actions, obs, rewards, terminated, truncated, autoreset);
                        if (measure) samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                        steps++;
                    }
                    if (!measure) continue;
                    figures[$"steps_per_second_{runners}_runners"] = Math.Round(steps / clock.Elapsed.TotalSeconds);
                    figures[$"env_frames_per_second_{runners}_runners"] = Math.Round(steps * envs / clock.Elapsed.TotalSeconds);
                    if (runners == 1)
                    {
                        samples.Sort();
                        figures["round_trip_p50_us"] = Math.Round(samples[samples.Count / 2], 1);
                        figures["round_trip_p99_us"] = Math.Round(samples[Math.Min(samples.Count - 1, (int)(samples.Count * 0.99))], 1);
                    }
                }
            }
            await stop.CancelAsync();
            foreach (var t in tasks)
            {
                try { await t; }
                catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException) { }
            }
        }
        return figures;
    }

    private static async Task<Dictionary<string, object>> BenchCentralInferenceAsync(double seconds, CancellationToken cancellationToken)
    {
        var maxWait = new CentralInferenceOptions().MaxWait;
        // Same data shape in both modes: 4 producers x 8 CartPoles, IMPALA defaults, no stopping at "solved".
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            Actors = 4, EnvsPerActor = 8, BatchUnrolls = 4, TargetReturn = double.MaxValue, MaxFrames = long.MaxValue / 2, AnnealLearningRate = false,
        };
        var figures = new Dictionary<string, object>
        {
            ["runners"] = options.Actors, ["envs_per_runner"] = options.EnvsPerActor,
            ["max_batch_size"] = new CentralInferenceOptions().MaxBatchSize, ["max_wait_us"] = maxWait.TotalMicroseconds,
        };

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            var actorResult = await new EmbeddedTrainer(options).RunAsync(null, stop.Token);
            figures["actor_mode_frames_per_second"] = Math.Round(actorResult.FramesPerSecond);
        }

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var trainer = new CentralInferenceTrainer(options, new CentralInferenceOptions { InProcessRunners = options.Actors, MaxWait = maxWait });
            stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            // Skip the first second's measurements (connections, JIT).
            _ = Task.Delay(TimeSpan.FromSeconds(Math.Min(1, seconds / 3)), stop.Token).ContinueWith(_ => trainer.Server?.ResetStats(), TaskScheduler.Default);
            var result = await trainer.RunAsync(null, stop.Token);
            var stats = trainer.Server!.Stats();
            figures["central_inference_frames_per_second"] = Math.Round(result.FramesPerSecond);
            figures["central_vs_actor_ratio"] = Math.Round(result.FramesPerSecond / Math.Max(1, (double)figures["actor_mode_frames_per_second"]), 3);
            figures["action_latency_p50_us"] = Math.Round(stats.LatencyP50Microseconds, 1);
            figures["action_latency_p99_us"] = Math.Round(stats.LatencyP99Microseconds, 1);
            figures["inference_batches"] = stats.Batches;
            figures["mean_batch_size"] = stats.Batches == 0 ? 0 : Math.Round(stats.BatchSizes.Sum(kv => (double)kv.Key * kv.Value) / stats.Batches, 2);
            figures["batch_size_distribution"] = stats.BatchSizes.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value);
        }
        return figures;
    }
}
