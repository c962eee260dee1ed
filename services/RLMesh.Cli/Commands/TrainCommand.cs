using System.CommandLine;
using RLMesh.Cli.Output;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Envs;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Remote.Inference;
using RLMesh.Telemetry.Aps;
using RLMesh.Telemetry.Hosting;
using RLMesh.Telemetry.Metrics;
using RLMesh.Telemetry.Runtime;

namespace RLMesh.Cli.Commands;

/// <summary>`rlmesh train`: trains an agent in this process (embedded mode).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = "Environment id, e.g. CartPole-v1 (see 'rlmesh env list')", Required = true };
        var algo = new Option<string>("--algo") { Description = "Algorithm: impala, impact, ppo or vmpo (defaults per algorithm and env: docs/algorithms.md)", DefaultValueFactory = _ => "impala" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1UL };
        var actors = new Option<int?>("--actors") { Description = "Actor loops (threads), default 2" };
        var envsPerActor = new Option<int?>("--envs-per-actor") { Description = "Environments each actor steps as one vector, default 16" };
        var unroll = new Option<int?>("--unroll-length") { Description = "Steps per unroll (T), default 20" };
        var batchUnrolls = new Option<int?>("--batch-unrolls") { Description = "Unrolls per learner batch, default 2" };
        var queueCapacity = new Option<int?>("--queue-capacity") { Description = "Unrolls the actor-to-learner queue holds, default 4 (deeper: more policy lag)" };
        var maxFrames = new Option<long?>("--max-frames") { Description = "Stop after this many environment frames" };
        var target = new Option<double?>("--target-return") { Description = "Stop when the 100-episode mean return reaches this (default: the env's solved threshold)" };
        var lr = new Option<float?>("--lr") { Description = "Learning rate" };
        var entropy = new Option<float?>("--entropy-cost") { Description = "Entropy bonus weight" };
        var baseline = new Option<float?>("--baseline-cost") { Description = "Value-loss weight" };
        var discount = new Option<float?>("--discount") { Description = "Discount factor gamma" };
        var rewardScale = new Option<float?>("--reward-scale") { Description = "Multiply rewards by this before the loss (values near unit scale)" };
        var reduction = new Option<string?>("--loss-reduction") { Description = "sum (TorchBeast) or mean over valid steps" };
        var scaleObservations = new Option<bool?>("--scale-observations") { Description = "Map bounded observation elements onto [-1, 1] inside the network (default off)" };
        var hidden = new Option<string?>("--hidden") { Description = "Hidden layer sizes, e.g. 64,64" };
        var optimizer = new Option<string?>("--optimizer") { Description = "rmsprop or adam" };
        var followTarget = new Option<bool?>("--follow-target") { Description = "impact: actors act with the target network and the learner publishes once per target copy (default true for discrete tasks)" };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Directory for summary.json, metrics.csv, learning-curve.svg and the checkpoint" };
        var progress = new Option<string>("--progress") { Description = "auto, live or plain", DefaultValueFactory = _ => "auto" };
        var sync = new SyncFlags();
        var network = new NetworkFlags();
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve /metrics, /healthz and /readyz on 127.0.0.1:PORT while training (0: any free port, printed)" };
        var trainMode = new Option<string>("--mode") { Description = "embedded (actors with local policies) or central-inference (runners hold no model; the learner side batches inference)", DefaultValueFactory = _ => "embedded" };
        var prometheusUrl = new Option<string?>("--prometheus-url") { Description = "aps-adaptive: read staleness from this Prometheus' query API instead of in-process metrics" };

        var broker = new Option<string?>("--broker") { Description = "RabbitMQ URI: run the distributed roles in this process over real RabbitMQ + Redis (needs --redis)" };
        var redis = new Option<string?>("--redis") { Description = "Redis host:port for the distributed roles (needs --broker)" };
        var run = new Option<string?>("--run") { Description = "Run name for queues and keys with --broker (default train-<time>)" };

        var command = new Command("train", "Train an agent in one process (in-memory transports, or real RabbitMQ + Redis with --broker/--redis)")
        {
            env, algo, seed, actors, envsPerActor, unroll, batchUnrolls, queueCapacity, maxFrames, target, lr, entropy, baseline, discount, rewardScale, reduction, scaleObservations, hidden, optimizer, followTarget, output, progress,
            broker, redis, run,
        };
        foreach (var option in sync.All) command.Options.Add(option);
        foreach (var option in network.All) command.Options.Add(option);
        command.Options.Add(metricsPort);
        command.Options.Add(prometheusUrl);
        command.Options.Add(trainMode);
        command.SetAction(async (parse, cancellationToken) =>
        {
            TrainingOptions options;
            try
            {
                options = TrainingOptions.ForEnvironment(parse.GetValue(env)!, parse.GetValue(algo)!);
            }
            catch (UnknownEnvironmentException ex)
            {
                throw new UsageException(ex.Message);
            }
            options = options with
            {
                Seed = parse.GetValue(seed),
                Actors = parse.GetValue(actors) ?? options.Actors,
                EnvsPerActor = parse.GetValue(envsPerActor) ?? options.EnvsPerActor,
                UnrollLength = parse.GetValue(unroll) ?? options.UnrollLength,
                // Synchronous (on-policy) algorithms take one unroll per actor: follow --actors unless told otherwise.
                BatchUnrolls = parse.GetValue(batchUnrolls) ?? (options.Synchronous ? parse.GetValue(actors) ?? options.Actors : options.BatchUnrolls),
                QueueCapacity = parse.GetValue(queueCapacity) ?? options.QueueCapacity,
                MaxFrames = parse.GetValue(maxFrames) ?? options.MaxFrames,
                TargetReturn = parse.GetValue(target) ?? options.TargetReturn,
                LearningRate = parse.GetValue(lr) ?? options.LearningRate,
                Hidden = ParseHidden(parse.GetValue(hidden)) ?? options.Hidden,
                ScaleObservations = parse.GetValue(scaleObservations) ?? options.ScaleObservations,
                Optimizer = ParseOptimizer(parse.GetValue(optimizer)) ?? options.Optimizer,
            };
            if (parse.GetValue(entropy) is float e)
            {
                if (options.Algorithm == AlgorithmDefaults.Vmpo)
                    throw new UsageException("--entropy-cost does not apply to vmpo (V-MPO has no entropy bonus)");
                options = options with
                {
                    Impala = options.Impala with { EntropyCost = e },
                    Impact = options.Impact with { EntropyCost = e },
                    Ppo = options.Ppo with { EntropyCost = e },
                };
            }
            if (parse.GetValue(followTarget) is bool follow)
            {
                if (options.Algorithm != AlgorithmDefaults.Impact)
                    throw new UsageException("--follow-target applies to impact only (it has the target network)");
                options = options with { Impact = options.Impact with { ActorsFollowTarget = follow } };
            }
            options = options with { Impala = ApplyImpalaLossFlags(parse, options, baseline, discount, rewardScale, reduction) };
            options = options with { Sync = sync.Parse(parse, options.Sync) };
            options = network.Apply(parse, options);
            bool central = parse.GetValue(trainMode) switch
            {
                "embedded" => false,
                "central-inference" => true,
                var other => throw new UsageException($"--mode must be embedded or central-inference, not '{other}'"),
            };
            if (central && parse.GetValue(envsPerActor) is null)
                options = options with { EnvsPerActor = Math.Max(options.EnvsPerActor, CentralInferenceTrainer.MinDefaultEnvsPerRunner) };
            var errors = central ? CentralInferenceTrainer.Validate(options).ToList() : options.Validate();
            if (errors.Count > 0) throw new UsageException(string.Join(Environment.NewLine + "rlmesh: ", errors));
            NetworkFlags.EnsureBuildable(options);

            var mode = parse.GetValue(progress) switch
            {
                "auto" => ProgressView.AutoMode(),
                "live" => ProgressMode.Live,
                "plain" => ProgressMode.Plain,
                var other => throw new UsageException($"--progress must be auto, live or plain, not '{other}'"),
            };
            var outDir = parse.GetValue(output);
            if (parse.GetValue(broker) is not null || parse.GetValue(redis) is not null)
            {
                if (parse.GetValue(broker) is not { } b || parse.GetValue(redis) is not { } r)
                    throw new UsageException("--broker and --redis go together");
                return await DistributedTrain.RunAsync(options, b, r, parse.GetValue(run), outDir, cancellationToken);
            }

            int? port = parse.GetValue(metricsPort);
            if (port is < 0 or > 65535) throw new UsageException("--metrics-port must be in 0..65535");
            Uri? prometheus = null;
            if (parse.GetValue(prometheusUrl) is string prometheusText)
            {
                if (options.Sync.Mode != SyncMode.ApsAdaptive)
                    throw new UsageException("--prometheus-url applies to --sync aps-adaptive only");
                if (!Uri.TryCreate(prometheusText.EndsWith('/') ? prometheusText : prometheusText + "/", UriKind.Absolute, out prometheus)
                    || prometheus.Scheme is not ("http" or "https"))
                    throw new UsageException($"--prometheus-url must be an absolute http(s) URL, not '{prometheusText}'");
            }

            RuntimeMetrics? metrics = port is null ? null : new RuntimeMetrics(new MetricRegistry());
            await using var metricsHost = port is int p
                ? await TelemetryHosting.StartMetricsHostAsync(metrics!.Registry, $"http://127.0.0.1:{p}", "rlmesh-train", cancellationToken)
                : null;
            if (metricsHost is not null)
            {
                Console.WriteLine($"metrics: {new Uri(metricsHost.Address, "metrics")}");
                metricsHost.Readiness.MarkReady();
            }
            if (central)
            {
                // Runners in this process over loopback WebSocket, one per --actors, --envs-per-actor sub-envs each.
                var centralTrainer = new CentralInferenceTrainer(options, new CentralInferenceOptions { InProcessRunners = options.Actors }, NetworkFlags.Networks);
                var centralResult = await ProgressView.RunAsync(mode, options, report => centralTrainer.RunAsync(report, cancellationToken));
                ProgressView.PrintResult(centralResult);
                if (outDir is not null)
                {
                    RunOutputs.Write(outDir, centralResult, centralTrainer.Learner);
                    Console.WriteLine($"outputs written to {outDir.FullName}");
                }
                return ExitCodes.Ok;
            }
            using var http = prometheus is null ? null : new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var trainer = new EmbeddedTrainer(options, networks: NetworkFlags.Networks)
            {
                Metrics = (IRuntimeMetrics?)metrics ?? NullRuntimeMetrics.Instance,
                StalenessSource = prometheus is null ? null : new PrometheusStalenessSource(http!, prometheus),
            };
            var result = await ProgressView.RunAsync(mode, options, report => trainer.RunAsync(report, cancellationToken));
            ProgressView.PrintResult(result);
            if (outDir is not null)
            {
                RunOutputs.Write(outDir, result, trainer.Learner);
                Console.WriteLine($"outputs written to {outDir.FullName}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    // The IMPALA loss flags; other algorithms document their own settings (docs/algorithms.md).
    private static ImpalaOptions ApplyImpalaLossFlags(ParseResult parse, TrainingOptions options,
        Option<float?> baseline, Option<float?> discount, Option<float?> rewardScale, Option<string?> reduction)
    {
        var impala = options.Impala;
        bool any = parse.GetValue(baseline) is not null || parse.GetValue(discount) is not null
            || parse.GetValue(rewardScale) is not null || parse.GetValue(reduction) is not null;
        if (!any) return impala;
        if (options.Algorithm != "impala")
            throw new UsageException("--baseline-cost, --discount, --reward-scale and --loss-reduction set IMPALA's loss; they do not apply to --algo " + options.Algorithm);
        if (parse.GetValue(baseline) is float b) impala = impala with { BaselineCost = b };
        if (parse.GetValue(discount) is float g) impala = impala with { Discount = g };
        if (parse.GetValue(rewardScale) is float rs) impala = impala with { RewardScale = rs };
        if (parse.GetValue(reduction) is string r)
        {
            impala = impala with
            {
                Reduction = r.ToLowerInvariant() switch
                {
                    "sum" => LossReduction.Sum,
                    "mean" => LossReduction.Mean,
                    _ => throw new UsageException($"--loss-reduction must be sum or mean, not '{r}'"),
                },
            };
        }
        return impala;
    }

    internal static int[]? ParseHidden(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], out sizes[i]) || sizes[i] < 1)
                throw new UsageException($"--hidden expects positive integers separated by commas, got '{text}'");
        }
        return sizes;
    }

    internal static OptimizerKind? ParseOptimizer(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "rmsprop" => OptimizerKind.RmsProp,
        "adam" => OptimizerKind.Adam,
        _ => throw new UsageException($"--optimizer must be rmsprop or adam, not '{text}'"),
    };
}
