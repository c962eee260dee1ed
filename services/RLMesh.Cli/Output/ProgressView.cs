using System.Globalization;
using RLMesh.Core.Runtime;
using Spectre.Console;

namespace RLMesh.Cli.Output;

public enum ProgressMode { Live, Plain }

/// <summary>
/// Shows training progress: a live table on a terminal, plain periodic lines otherwise
/// (CI logs, pipes, files).
/// </summary>
public static class ProgressView
{
    public static ProgressMode AutoMode() =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? ProgressMode.Live : ProgressMode.Plain;

    public static async Task<TrainingResult> RunAsync(
        ProgressMode mode, TrainingOptions options, Func<Action<TrainingReport>, Task<TrainingResult>> run)
    {
        string title = $"{options.Algorithm} on {options.EnvId}, seed {options.Seed}, target {Format(options.TargetReturn)}";
        if (mode == ProgressMode.Plain)
        {
            Console.WriteLine($"training {title}");
            return await run(report => Console.WriteLine(PlainLine(report)));
        }

        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        foreach (var column in new[] { "elapsed", "frames", "frames/s", "episodes", "mean return (100)", "policy lag", "updates", "entropy", "loss" })
            table.AddColumn(new TableColumn(column).RightAligned());
        table.AddRow(Enumerable.Repeat("-", 9).ToArray());
        TrainingResult? result = null;
        await AnsiConsole.Live(table).StartAsync(async context =>
        {
            result = await run(report =>
            {
                table.UpdateCell(0, 0, $"{report.Seconds:F1} s");
                table.UpdateCell(0, 1, report.Frames.ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 2, report.FramesPerSecond.ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 3, report.Episodes.ToString(CultureInfo.InvariantCulture));
                table.UpdateCell(0, 4, Format(report.MeanReturn));
                table.UpdateCell(0, 5, report.MeanPolicyLag.ToString("F2", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 6, report.Updates.ToString(CultureInfo.InvariantCulture));
                table.UpdateCell(0, 7, report.Entropy.ToString("F3", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 8, report.TotalLoss.ToString("G4", CultureInfo.InvariantCulture));
                context.Refresh();
            });
        });
        return result!;
    }

    public static string PlainLine(TrainingReport r) => string.Create(CultureInfo.InvariantCulture,
        $"t={r.Seconds,7:F1}s frames={r.Frames,10} fps={r.FramesPerSecond,9:F0} episodes={r.Episodes,6} mean_return={Format(r.MeanReturn),8} policy_lag={r.MeanPolicyLag:F2} updates={r.Updates} entropy={r.Entropy:F3} loss={r.TotalLoss:G4}");

    public static void PrintResult(TrainingResult result)
    {
        string verdict = result.Solved
            ? string.Create(CultureInfo.InvariantCulture, $"solved after {result.FramesToSolve:N0} frames in {result.SecondsToSolve:F1} s")
            : "not solved";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{verdict}; {result.Frames:N0} frames in {result.Seconds:F1} s ({result.FramesPerSecond:N0} frames/s), final 100-episode mean return {Format(result.FinalMeanReturn)}"));
    }

    private static string Format(double? value) =>
        value is double v ? v.ToString("F1", CultureInfo.InvariantCulture) : "-";
}
