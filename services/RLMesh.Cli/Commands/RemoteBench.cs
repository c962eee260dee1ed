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
        "RemoteVectorEnv of 16 CartPoles over loopback: step round-trip p50/p99, steps/s with 1, 2 and 4 runners", (seconds, _, ct) => BenchRemoteEnvAsync(seconds, ct));

    /// <summary>Default sub-envs per runner (and per actor in the comparison): SEED runs many envs per actor, since its per-step cost is per request, not per frame.</summary>
    public const int DefaultCentralEnvsPerRunner = 32;

    public static Command CentralInference()
    {
        var command = Make("central-inference",
            $"Central inference (4 runners x {DefaultCentralEnvsPerRunner} CartPoles) vs embedded actors (4 x the same): batch sizes, action latency p50/p99, frames/s while training",
            BenchCentralInferenceAsync);
        return command;
    }

    private static Command Make(string name, string description, Func<double, int, CancellationToken, Task<Dictionary<string, object>>> run)
    {
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object on the last line" };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per figure", DefaultValueFactory = _ => 3.0 };
        var envsPerRunner = new Option<int>("--envs-per-runner") { Description = "central-inference: sub-envs per runner and per actor (same in both modes)", DefaultValueFactory = _ => DefaultCentralEnvsPerRunner };
        var command = new Command(name, description) { json, seconds };
        if (name == "central-inference") command.Options.Add(envsPerRunner);
        command.SetAction(async (parse, cancellationToken) =>
        {
            double budget = parse.GetValue(seconds);
            if (!(budget > 0)) throw new UsageException("--seconds must be positive");
            int envs = parse.GetValue(envsPerRunner);
            if (envs < 1) throw new UsageException("--envs-per-runner must be at least 1");
            var figures = await run(budget, envs, cancellationToken);
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

    private static async Task<Dictionary<string, object>> BenchCentralInferenceAsync(double seconds, int envsPerRunner, CancellationToken cancellationToken)
    {
        var maxWait = new CentralInferenceOptions().MaxWait;
        // Same data shape and learner in both modes: 4 producers x envsPerRunner CartPoles, IMPALA defaults, no stopping at "solved".
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            Actors = 4, EnvsPerActor = envsPerRunner, BatchUnrolls = 4, TargetReturn = double.MaxValue, MaxFrames = long.MaxValue / 2, AnnealLearningRate = false,
        };
        var figures = new Dictionary<string, object>
        {
            ["runners"] = options.Actors, ["envs_per_runner"] = options.EnvsPerActor,
            ["max_batch_size"] = new CentralInferenceOptions().MaxBatchSize, ["max_wait_us"] = maxWait.TotalMicroseconds,
        };

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var actorResult = await new EmbeddedTrainer(options).RunAsync(null, stop.Token);
            figures["actor_mode_frames_per_second"] = Math.Round(actorResult.FramesPerSecond);
            figures["actor_mode_cpu_us_per_frame"] = CpuMicrosecondsPerFrame(cpu, actorResult.Frames);
        }

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var trainer = new CentralInferenceTrainer(options, new CentralInferenceOptions { InProcessRunners = options.Actors, MaxWait = maxWait });
            stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            // Skip the first second's measurements (connections, JIT).
            _ = Task.Delay(TimeSpan.FromSeconds(Math.Min(1, seconds / 3)), stop.Token).ContinueWith(_ => trainer.Server?.ResetStats(), TaskScheduler.Default);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var result = await trainer.RunAsync(null, stop.Token);
            figures["central_inference_cpu_us_per_frame"] = CpuMicrosecondsPerFrame(cpu, result.Frames);
            var stats = trainer.Server!.Stats();
            figures["central_inference_frames_per_second"] = Math.Round(result.FramesPerSecond);
            figures["central_vs_actor_ratio"] = Math.Round(result.FramesPerSecond / Math.Max(1, (double)figures["actor_mode_frames_per_second"]), 3);
            // Frames/s swing with the load from other processes on a shared machine; CPU per frame (this process, all
            // threads) does much less: its inverse ratio is what the frames/s ratio would be on idle, CPU-bound cores.
            figures["central_vs_actor_cpu_ratio"] = Math.Round((double)figures["actor_mode_cpu_us_per_frame"] / Math.Max(1e-9, (double)figures["central_inference_cpu_us_per_frame"]), 3);
            figures["action_latency_p50_us"] = Math.Round(stats.LatencyP50Microseconds, 1);
            figures["action_latency_p99_us"] = Math.Round(stats.LatencyP99Microseconds, 1);
            figures["inference_batches"] = stats.Batches;
            figures["mean_batch_size"] = stats.Batches == 0 ? 0 : Math.Round(stats.BatchSizes.Sum(kv => (double)kv.Key * kv.Value) / stats.Batches, 2);
            figures["batch_size_distribution"] = stats.BatchSizes.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value);
        }
        return figures;
    }

    private static double CpuMicrosecondsPerFrame(TimeSpan cpuBefore, long frames) =>
        Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / Math.Max(1, frames), 3);
}
