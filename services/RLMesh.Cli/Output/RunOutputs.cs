using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Output;

/// <summary>What `rlmesh train --out DIR` leaves behind.</summary>
public static class RunOutputs
{
    public const string SummaryFile = "summary.json";
    public const string MetricsFile = "metrics.csv";
    public const string CurveFile = "learning-curve.svg";
    public const string CheckpointFile = "checkpoint.rlmckpt";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public sealed record Summary(
        string Env, string Algo, ulong Seed, bool Solved, long Frames, double Seconds,
        long? FramesToSolve, double? SecondsToSolve, double? FinalMeanReturn, double FramesPerSecond,
        double? TargetReturn, long Updates);

    public static void Write(DirectoryInfo directory, TrainingResult result, ILearner learner)
    {
        directory.Create();
        var o = result.Options;
        var summary = new Summary(o.EnvId, o.Algorithm, o.Seed, result.Solved, result.Frames, result.Seconds,
            result.FramesToSolve, result.SecondsToSolve, result.FinalMeanReturn, result.FramesPerSecond,
            o.TargetReturn, result.Updates);
        File.WriteAllText(Path.Combine(directory.FullName, SummaryFile), JsonSerializer.Serialize(summary, JsonOptions));
        File.WriteAllText(Path.Combine(directory.FullName, MetricsFile), MetricsCsv(result.Reports));
        File.WriteAllText(Path.Combine(directory.FullName, CurveFile), LearningCurve.Svg(result));

        var checkpoint = new Checkpoint(o.EnvId, o.Algorithm, learner.Network.Spec, learner.Version, result.Frames, o.Seed,
            learner.Optimizer.GetType().Name, learner.Network.Parameters.Values.ToArray(), learner.Optimizer.ExportState())
        {
            Observe = o.Observe,
        };
        string checkpointPath = Path.Combine(directory.FullName, CheckpointFile);
        // Write aside, then rename: a crash mid-write never leaves a torn checkpoint under the real name.
        string temporary = checkpointPath + ".tmp";
        using (var stream = File.Create(temporary))
            checkpoint.WriteTo(stream);
        File.Move(temporary, checkpointPath, overwrite: true);
    }

    public static string MetricsCsv(IReadOnlyList<TrainingReport> reports)
    {
        var csv = new StringBuilder("seconds,frames,frames_per_second,episodes,mean_return_100,policy_lag,updates,total_loss,policy_loss,baseline_loss,entropy,kl,learning_rate,queue_depth\n");
        foreach (var r in reports)
        {
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Seconds:F3},{r.Frames},{r.FramesPerSecond:F1},{r.Episodes},{(r.MeanReturn is double m ? m.ToString("R", CultureInfo.InvariantCulture) : "")},{r.MeanPolicyLag:F3},{r.Updates},{r.TotalLoss:G6},{r.PolicyLoss:G6},{r.BaselineLoss:G6},{r.Entropy:G6},{r.Kl:G6},{r.LearningRate:G6},{r.QueueDepth}"));
        }
        return csv.ToString();
    }
}
