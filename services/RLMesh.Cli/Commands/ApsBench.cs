using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RLMesh.Core.Envs;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh bench aps`: embedded training runs to the solved threshold under every-unroll (the IMPALA baseline),
/// every-k and APS at several tau, with the same seeds; prints weight pulls, bytes moved, frames-to-solve,
/// seconds-to-solve and final return per run and averaged, and the reduction in pulls against the baseline.
/// Runs one after another so they do not compete for cores.
/// </summary>
internal static class ApsBench
{
    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = "Environment id", DefaultValueFactory = _ => "CartPole-v1" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per configuration (1..N)", DefaultValueFactory = _ => 3 };
        var taus = new Option<string>("--taus") { Description = "APS thresholds to compare, comma separated", DefaultValueFactory = _ => "0.01,0.02,0.05,0.1" };
        var k = new Option<int>("--sync-k") { Description = "K of the every-k reference", DefaultValueFactory = _ => 4 };
        var maxLag = new Option<int?>("--aps-max-lag") { Description = "APS hard version-lag cap (default: the trainer's)" };
        var maxFrames = new Option<long>("--max-frames") { Description = "Frame budget per run (the learning rate anneals to zero at it)", DefaultValueFactory = _ => 3_000_000 };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON object on the last line" };
        var command = new Command("aps", "Adaptive Policy Synchronization against every-unroll: pulls, bytes, frames- and seconds-to-solve")
        {
            env, seeds, taus, k, maxLag, maxFrames, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            TrainingOptions baseOptions;
            try { baseOptions = TrainingOptions.ForEnvironment(parse.GetValue(env)!); }
            catch (UnknownEnvironmentException ex) { throw new UsageException(ex.Message); }
            int seedCount = parse.GetValue(seeds);
            if (seedCount < 1) throw new UsageException("--seeds must be at least 1");
            var tauValues = ParseTaus(parse.GetValue(taus)!);
            int kValue = parse.GetValue(k);
            if (kValue < 1) throw new UsageException("--sync-k must be at least 1");
            long budget = parse.GetValue(maxFrames);
            if (budget < 1) throw new UsageException("--max-frames must be positive");
            baseOptions = baseOptions with { MaxFrames = budget };
            var defaults = baseOptions.Sync with { MaxLag = parse.GetValue(maxLag) ?? baseOptions.Sync.MaxLag };
            if (defaults.MaxLag < 1) throw new UsageException("--aps-max-lag must be at least 1");

            var configs = new List<(string Name, SyncOptions Sync)>
            {
                ("every-unroll", defaults with { Mode = SyncMode.EveryUnroll }),
                ($"every-k k={kValue}", defaults with { Mode = SyncMode.EveryK, K = kValue }),
            };
            foreach (var tau in tauValues)
                configs.Add((string.Create(CultureInfo.InvariantCulture, $"aps tau={tau}"), defaults with { Mode = SyncMode.Aps, Tau = tau }));

            var runs = new List<Run>();
            Console.WriteLine($"bench aps on {baseOptions.EnvId}: {configs.Count} configurations x {seedCount} seeds, target {baseOptions.TargetReturn}, max frames {baseOptions.MaxFrames}, aps max lag {defaults.MaxLag}");
            Console.WriteLine(Header());
            foreach (var (name, sync) in configs)
            {
                for (ulong seed = 1; seed <= (ulong)seedCount; seed++)
                {
                    var options = baseOptions with { Seed = seed, Sync = sync };
                    var result = await new EmbeddedTrainer(options).RunAsync(null, cancellationToken);
                    var run = new Run(name, seed, result.Sync.WeightPulls, result.Sync.WeightPullBytes, result.Sync.Unrolls,
                        result.FramesToSolve, result.SecondsToSolve, result.FinalMeanReturn, result.Frames);
                    runs.Add(run);
                    Console.WriteLine(Row(name, seed.ToString(CultureInfo.InvariantCulture), run.Pulls, run.Bytes, run.FramesToSolve, run.SecondsToSolve, run.FinalReturn));
                    if (cancellationToken.IsCancellationRequested) return ExitCodes.Failure;
                }
            }

            Console.WriteLine();
            Console.WriteLine("averages (frames/seconds-to-solve over solved runs; change vs every-unroll)");
            Console.WriteLine(Header() + " | solved | pulls/unroll | pulls vs base | frames-to-solve vs base");
            var summaries = configs.Select(c => Summarize(c.Name, runs.Where(r => r.Config == c.Name).ToList())).ToList();
            var baseline = summaries[0];
            foreach (var s in summaries)
            {
                double? pullChange = baseline.Pulls > 0 ? s.Pulls / baseline.Pulls - 1 : null;
                double? framesChange = s.FramesToSolve is double f && baseline.FramesToSolve is double bf ? f / bf - 1 : null;
                s.PullChange = pullChange;
                s.FramesToSolveChange = framesChange;
                Console.WriteLine(Row(s.Config, "mean", s.Pulls, s.Bytes, s.FramesToSolve, s.SecondsToSolve, s.FinalReturn)
                    + string.Create(CultureInfo.InvariantCulture, $" | {s.Solved}/{seedCount,-4} | {s.PullsPerUnroll,12:F3} | {Percent(pullChange),13} | {Percent(framesChange),23}"));
            }
            var goal = summaries.Skip(2).Where(s => s.Solved == seedCount && s.PullChange <= -0.70 && s.FramesToSolveChange <= 0.10).ToList();
            Console.WriteLine(goal.Count > 0
                ? $"goal (>= 70% fewer pulls, frames-to-solve within 10%): met by {string.Join(", ", goal.Select(g => g.Config))}"
                : "goal (>= 70% fewer pulls, frames-to-solve within 10%): not met by any aps configuration");
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    env = baseOptions.EnvId,
                    seeds = seedCount,
                    runs = runs.Select(r => new
                    {
                        config = r.Config, seed = r.Seed, weight_pulls = r.Pulls, bytes_moved = r.Bytes, unrolls = r.Unrolls,
                        frames_to_solve = r.FramesToSolve, seconds_to_solve = r.SecondsToSolve, final_return = r.FinalReturn, frames = r.Frames,
                    }),
                    averages = summaries.Select(s => new
                    {
                        config = s.Config, weight_pulls = s.Pulls, bytes_moved = s.Bytes, frames_to_solve = s.FramesToSolve,
                        seconds_to_solve = s.SecondsToSolve, final_return = s.FinalReturn, solved = s.Solved, pulls_per_unroll = s.PullsPerUnroll,
                        pulls_change = s.PullChange, frames_to_solve_change = s.FramesToSolveChange,
                    }),
                    goal_met_by = goal.Select(g => g.Config),
                }));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed record Run(string Config, ulong Seed, long Pulls, long Bytes, long Unrolls, long? FramesToSolve, double? SecondsToSolve, double? FinalReturn, long Frames);

    private sealed class Summary(string config, double pulls, double bytes, double? framesToSolve, double? secondsToSolve, double? finalReturn, int solved, double pullsPerUnroll)
    {
        public double PullsPerUnroll { get; } = pullsPerUnroll;
        public string Config { get; } = config;
        public double Pulls { get; } = pulls;
        public double Bytes { get; } = bytes;
        public double? FramesToSolve { get; } = framesToSolve;
        public double? SecondsToSolve { get; } = secondsToSolve;
        public double? FinalReturn { get; } = finalReturn;
        public int Solved { get; } = solved;
        public double? PullChange { get; set; }
        public double? FramesToSolveChange { get; set; }
    }

    private static Summary Summarize(string config, List<Run> runs)
    {
        var solved = runs.Where(r => r.FramesToSolve is not null).ToList();
        return new Summary(config, runs.Average(r => (double)r.Pulls), runs.Average(r => (double)r.Bytes),
            solved.Count > 0 ? solved.Average(r => (double)r.FramesToSolve!.Value) : null,
            solved.Count > 0 ? solved.Average(r => r.SecondsToSolve!.Value) : null,
            runs.All(r => r.FinalReturn is not null) ? runs.Average(r => r.FinalReturn!.Value) : null,
            solved.Count,
            runs.Sum(r => (double)r.Pulls) / Math.Max(1, runs.Sum(r => (double)r.Unrolls)));
    }

    internal static double[] ParseTaus(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new UsageException("--taus needs at least one value");
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !(values[i] > 0) || !double.IsFinite(values[i]))
                throw new UsageException($"--taus expects positive numbers separated by commas, got '{text}'");
        }
        return values;
    }

    private static string Header() =>
        $"{"config",-18} | {"seed",4} | {"weight pulls",12} | {"bytes moved",12} | {"frames-to-solve",15} | {"s-to-solve",10} | {"final return",12}";

    private static string Row(string config, string seed, double pulls, double bytes, double? frames, double? seconds, double? finalReturn) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{config,-18} | {seed,4} | {pulls,12:F0} | {bytes,12:F0} | {(frames is double f ? f.ToString("F0", CultureInfo.InvariantCulture) : "not solved"),15} | {(seconds is double s ? s.ToString("F2", CultureInfo.InvariantCulture) : "-"),10} | {(finalReturn is double r ? r.ToString("F1", CultureInfo.InvariantCulture) : "-"),12}");

    private static string Percent(double? change) =>
        change is double c ? string.Create(CultureInfo.InvariantCulture, $"{c * 100:+0.0;-0.0;0.0}%") : "-";
}
