using System.CommandLine;
using RLMesh.Cli.Output;
using RLMesh.Core.Envs;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Commands;

/// <summary>`rlmesh train`: trains an agent in this process (embedded mode).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = "Environment id, e.g. CartPole-v1 (see 'rlmesh env list')", Required = true };
        var algo = new Option<string>("--algo") { Description = "Algorithm", DefaultValueFactory = _ => "impala" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1UL };
        var actors = new Option<int?>("--actors") { Description = "Actor loops (threads), default 2" };
        var envsPerActor = new Option<int?>("--envs-per-actor") { Description = "Environments each actor steps as one vector, default 16" };
        var unroll = new Option<int?>("--unroll-length") { Description = "Steps per unroll (T), default 20" };
        var batchUnrolls = new Option<int?>("--batch-unrolls") { Description = "Unrolls per learner batch, default 2" };
        var maxFrames = new Option<long?>("--max-frames") { Description = "Stop after this many environment frames" };
        var target = new Option<double?>("--target-return") { Description = "Stop when the 100-episode mean return reaches this (default: the env's solved threshold)" };
        var lr = new Option<float?>("--lr") { Description = "Learning rate" };
        var entropy = new Option<float?>("--entropy-cost") { Description = "Entropy bonus weight" };
        var hidden = new Option<string?>("--hidden") { Description = "Hidden layer sizes, e.g. 64,64" };
        var optimizer = new Option<string?>("--optimizer") { Description = "rmsprop or adam" };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Directory for summary.json, metrics.csv, learning-curve.svg and the checkpoint" };
        var progress = new Option<string>("--progress") { Description = "auto, live or plain", DefaultValueFactory = _ => "auto" };
        var broker = new Option<string?>("--broker") { Description = "RabbitMQ URI: run the distributed roles in this process over real RabbitMQ + Redis (needs --redis)" };
        var redis = new Option<string?>("--redis") { Description = "Redis host:port for the distributed roles (needs --broker)" };
        var run = new Option<string?>("--run") { Description = "Run name for queues and keys with --broker (default train-<time>)" };

        var command = new Command("train", "Train an agent in one process with in-memory transports")
        {
            env, algo, seed, actors, envsPerActor, unroll, batchUnrolls, maxFrames, target, lr, entropy, hidden, optimizer, output, progress,
            broker, redis, run,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            TrainingOptions options;
            try
            {
                options = TrainingOptions.ForEnvironment(parse.GetValue(env)!);
            }
            catch (UnknownEnvironmentException ex)
            {
                throw new UsageException(ex.Message);
            }
            options = options with
            {
                Algorithm = parse.GetValue(algo)!,
                Seed = parse.GetValue(seed),
                Actors = parse.GetValue(actors) ?? options.Actors,
                EnvsPerActor = parse.GetValue(envsPerActor) ?? options.EnvsPerActor,
                UnrollLength = parse.GetValue(unroll) ?? options.UnrollLength,
                BatchUnrolls = parse.GetValue(batchUnrolls) ?? options.BatchUnrolls,
                MaxFrames = parse.GetValue(maxFrames) ?? options.MaxFrames,
                TargetReturn = parse.GetValue(target) ?? options.TargetReturn,
                LearningRate = parse.GetValue(lr) ?? options.LearningRate,
                Hidden = ParseHidden(parse.GetValue(hidden)) ?? options.Hidden,
                Optimizer = ParseOptimizer(parse.GetValue(optimizer)) ?? options.Optimizer,
            };
            if (parse.GetValue(entropy) is float e)
                options = options with { Impala = options.Impala with { EntropyCost = e } };
            var errors = options.Validate();
            if (errors.Count > 0) throw new UsageException(string.Join(Environment.NewLine + "rlmesh: ", errors));

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

            var trainer = new EmbeddedTrainer(options);
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
