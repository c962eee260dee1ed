using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh bench algos`: trains every (algorithm, environment, seed) from its documented defaults and
/// prints frames-to-solve and seconds-to-solve. Default grid: impala and impact on CartPole-v1 and
/// Acrobot-v1; ppo and vmpo on those and Pendulum-v1 (threshold -200); seeds 1-3. With --json the last
/// line is one JSON array of the runs.
/// </summary>
public static class BenchAlgosCommand
{
    private static readonly (string Algo, string Env)[] DefaultGrid =
    [
        ("impala", "CartPole-v1"), ("impact", "CartPole-v1"), ("ppo", "CartPole-v1"), ("vmpo", "CartPole-v1"),
        ("impala", "Acrobot-v1"), ("impact", "Acrobot-v1"), ("ppo", "Acrobot-v1"), ("vmpo", "Acrobot-v1"),
        ("ppo", "Pendulum-v1"), ("vmpo", "Pendulum-v1"),
    ];

    public sealed record Run(string Algo, string Env, ulong Seed, bool Solved, long? FramesToSolve, double? SecondsToSolve,
        long Frames, double Seconds, double? FinalMeanReturn, double TargetReturn);

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the runs as one JSON array on the last line" };
        var seeds = new Option<string>("--seeds") { Description = "Seeds, e.g. 1,2,3", DefaultValueFactory = _ => "1,2,3" };
        var algos = new Option<string?>("--algos") { Description = "Only these algorithms, e.g. impala,impact" };
        var envs = new Option<string?>("--envs") { Description = "Only these environments, e.g. CartPole-v1" };
        var command = new Command("algos", "Frames-to-solve and seconds-to-solve per algorithm, environment and seed, from defaults")
        {
            json, seeds, algos, envs,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var seedList = ParseSeeds(parse.GetValue(seeds)!);
            var algoFilter = Split(parse.GetValue(algos));
            var envFilter = Split(parse.GetValue(envs));
            foreach (var a in algoFilter ?? [])
                if (!AlgorithmDefaults.Names.Contains(a)) throw new UsageException($"unknown algorithm '{a}' (available: {string.Join(", ", AlgorithmDefaults.Names)})");
            var grid = DefaultGrid.Where(g => (algoFilter is null || algoFilter.Contains(g.Algo)) && (envFilter is null || envFilter.Contains(g.Env))).ToList();
            if (grid.Count == 0) throw new UsageException("no (algorithm, environment) pair of the benchmark grid matches the filters");

            var runs = new List<Run>();
            Console.WriteLine($"{"algo",-7} {"env",-12} {"seed",4} {"solved",6} {"frames_to_solve",15} {"seconds_to_solve",16} {"final_mean",10}");
            foreach (var (algo, env) in grid)
            {
                // An untimed 16 k-frame run first, so seed 1's seconds do not include compiling this pair's code.
                var warmUp = TrainingOptions.ForEnvironment(env, algo) with { Seed = seedList[0] + 1000, MaxFrames = 16_384, TargetReturn = double.MaxValue };
                await new EmbeddedTrainer(warmUp).RunAsync(null, cancellationToken);
                var pairRuns = new List<Run>();
                foreach (ulong seed in seedList)
                {
                    var options = TrainingOptions.ForEnvironment(env, algo) with { Seed = seed };
                    if (env == "Pendulum-v1") options = options with { TargetReturn = -200 };
                    var result = await new EmbeddedTrainer(options).RunAsync(null, cancellationToken);
                    var run = new Run(algo, env, seed, result.Solved, result.FramesToSolve, result.SecondsToSolve,
                        result.Frames, result.Seconds, result.FinalMeanReturn, options.TargetReturn ?? double.NaN);
                    runs.Add(run);
                    pairRuns.Add(run);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{algo,-7} {env,-12} {seed,4} {(run.Solved ? "yes" : "no"),6} {run.FramesToSolve?.ToString(CultureInfo.InvariantCulture) ?? "-",15} {(run.SecondsToSolve is double s ? s.ToString("F3", CultureInfo.InvariantCulture) : "-"),16} {run.FinalMeanReturn,10:F1}"));
                    if (cancellationToken.IsCancellationRequested) break;
                }
                var solved = pairRuns.Where(r => r.Solved).ToList();
                if (solved.Count > 0)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{algo,-7} {env,-12} {"median",4} {$"{solved.Count}/{pairRuns.Count}",6} {Median(solved.Select(r => (double)r.FramesToSolve!.Value)),15:F0} {Median(solved.Select(r => r.SecondsToSolve!.Value)),16:F3}"));
            }
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(runs, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static List<string>? Split(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    internal static ulong[] ParseSeeds(string text)
    {
        var parts = Split(text) ?? [];
        var seeds = new ulong[parts.Count];
        for (int i = 0; i < parts.Count; i++)
            if (!ulong.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out seeds[i]))
                throw new UsageException($"--seeds expects non-negative integers separated by commas, got '{text}'");
        if (seeds.Length == 0) throw new UsageException("--seeds needs at least one seed");
        return seeds;
    }
}
