using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RLMesh.Core.Runtime;
using RLMesh.Messaging.Benchmarks;
using RLMesh.Messaging.LocalServers;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Redis;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh bench transport`: the real transports and the distributed cluster on this machine. Against --broker/--redis,
/// or private rabbitmq-server/redis-server processes it starts (and stops) itself.
/// </summary>
internal static class TransportBench
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object on the last line" };
        var broker = new Option<string?>("--broker") { Description = "RabbitMQ URI (default: start a private rabbitmq-server)" };
        var redis = new Option<string?>("--redis") { Description = "Redis host:port (default: start a private redis-server)" };
        var messages = new Option<int>("--messages") { Description = "Unrolls published then consumed", DefaultValueFactory = _ => 5000 };
        var rounds = new Option<int>("--rounds") { Description = "Snapshot publish->load rounds", DefaultValueFactory = _ => 100 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time of the cluster and of the embedded run (after warm-up)", DefaultValueFactory = _ => 20 };
        var runners = new Option<int>("--runners") { Description = "Env-runner processes of the cluster", DefaultValueFactory = _ => 4 };
        var command = new Command("transport",
            "RabbitMQ unroll throughput (T=80, obs 4, 16 envs, confirms), Redis snapshot latency (1M parameters), cluster vs embedded frames/s")
        {
            json, broker, redis, messages, rounds, seconds, runners,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(messages) < 1 || parse.GetValue(rounds) < 1 || !(parse.GetValue(seconds) > 0) || parse.GetValue(runners) < 1)
                throw new UsageException("--messages, --rounds, --seconds and --runners must be positive");
            await using var servers = await Servers.StartAsync(parse.GetValue(broker), parse.GetValue(redis), cancellationToken);
            string run = $"bench-{DateTime.UtcNow:HHmmss}-{Environment.ProcessId}";
            var figures = new Dictionary<string, object?>();

            var queue = await TransportBenchmarks.MeasureTrajectoryQueueAsync(
                new RabbitMqOptions { Uri = new Uri(servers.Broker), RunName = run, Prefetch = 256, ConfirmWindow = 256, MaxLength = parse.GetValue(messages) },
                parse.GetValue(messages), cancellationToken);
            Console.WriteLine(queue);
            await LaunchCommand.RemoveRunQueuesAsync(new Uri(servers.Broker), run);
            figures["unroll_bytes"] = queue.BytesPerMessage;
            figures["unrolls_published_per_second"] = Math.Round(queue.PublishedPerSecond);
            figures["unrolls_published_mb_per_second"] = Math.Round(queue.PublishedMegabytesPerSecond, 1);
            figures["unrolls_consumed_per_second"] = Math.Round(queue.ConsumedPerSecond);
            figures["unrolls_consumed_mb_per_second"] = Math.Round(queue.ConsumedMegabytesPerSecond, 1);

            var snapshot = await TransportBenchmarks.MeasureWeightStoreAsync(
                new RedisOptions { Configuration = servers.Redis, KeyPrefix = $"rlmesh:{run}" }, 1_000_000, parse.GetValue(rounds), cancellationToken);
            Console.WriteLine(snapshot);
            figures["snapshot_parameters"] = snapshot.Parameters;
            figures["snapshot_load_p50_ms"] = Math.Round(snapshot.P50.TotalMilliseconds, 2);
            figures["snapshot_load_p99_ms"] = Math.Round(snapshot.P99.TotalMilliseconds, 2);

            double measure = parse.GetValue(seconds);
            int n = parse.GetValue(runners);
            double embedded = await MeasureEmbeddedAsync(n, measure, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"embedded ({n} actor threads): {embedded:F0} frames/s"));
            var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
            {
                ["Run"] = run + "-cluster",
                ["Broker"] = servers.Broker,
                ["Redis"] = servers.Redis,
                ["Learner:MaxFrames"] = "1000000000000",
                ["Learner:TargetReturn"] = "1000000000",
            };
            var logDir = Path.Combine(Path.GetTempPath(), $"rlmesh-{run}");
            values["Learner:CheckpointDir"] = Path.Combine(logDir, "checkpoints");
            var launcher = new ClusterLauncher(values, null, logDir, restartLimit: 0);
            double cluster = await launcher.MeasureFramesPerSecondAsync(n, TimeSpan.FromSeconds(Math.Min(15, measure)), TimeSpan.FromSeconds(measure), cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cluster ({n} runner processes + replay + learner + parameter server): {cluster:F0} frames/s ({(embedded > 0 ? (cluster / embedded).ToString("P0", CultureInfo.InvariantCulture) : "no embedded frames measured")} of embedded)"));
            figures["embedded_frames_per_second"] = Math.Round(embedded);
            figures["cluster_frames_per_second"] = Math.Round(cluster);
            figures["cluster_runners"] = n;
            // A run too short to finish the embedded warm-up measures 0 frames/s: no ratio then (JSON has no Infinity).
            figures["cluster_vs_embedded"] = embedded > 0 ? Math.Round(cluster / embedded, 3) : null;
            try { Directory.Delete(logDir, recursive: true); } catch (IOException) { }
            await LaunchCommand.RemoveRunQueuesAsync(new Uri(servers.Broker), run + "-cluster");

            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(figures));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Frames/s of the embedded trainer with the same shapes as the cluster (runners = actor threads), after a warm-up.</summary>
    private static async Task<double> MeasureEmbeddedAsync(int actors, double seconds, CancellationToken cancellationToken)
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            Actors = actors,
            EnvsPerActor = new RLMesh.EnvRunner.EnvRunnerOptions().Envs, // the cluster's runner default (the embedded one is 16)
            MaxFrames = long.MaxValue / 2,
            TargetReturn = 1e9,
            ReportIntervalSeconds = 1,
        };
        var trainer = new EmbeddedTrainer(options);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        double warmup = Math.Min(5, seconds / 2);
        stop.CancelAfter(TimeSpan.FromSeconds(warmup + seconds));
        var result = await trainer.RunAsync(null, stop.Token);
        var atWarmup = result.Reports.FirstOrDefault(r => r.Seconds >= warmup) ?? result.Reports[0];
        var last = result.Reports[^1];
        return (last.Frames - atWarmup.Frames) / Math.Max(1e-9, last.Seconds - atWarmup.Seconds);
    }

    /// <summary>The broker and Redis to use: the given ones, or private servers started here and stopped on dispose.</summary>
    private sealed class Servers : IAsyncDisposable
    {
        private LocalRabbitMq? _rabbit;
        private LocalRedis? _redis;
        public string Broker { get; private set; } = "";
        public string Redis { get; private set; } = "";

        public static async Task<Servers> StartAsync(string? broker, string? redis, CancellationToken cancellationToken)
        {
            var servers = new Servers();
            try
            {
                if (broker is null)
                {
                    Console.WriteLine("starting a private rabbitmq-server ...");
                    servers._rabbit = await LocalRabbitMq.StartNewAsync(cancellationToken);
                }
                servers.Broker = broker ?? servers._rabbit!.AmqpUri.ToString();
                if (redis is null)
                    servers._redis = await LocalRedis.StartAsync();
                servers.Redis = redis ?? servers._redis!.Configuration;
            }
            catch
            {
                await servers.DisposeAsync();
                throw;
            }
            return servers;
        }

        public async ValueTask DisposeAsync()
        {
            if (_rabbit is not null) await _rabbit.DisposeAsync();
            if (_redis is not null) await _redis.DisposeAsync();
        }
    }
}
