namespace RLMesh.Core.Runtime;

/// <summary>A progress snapshot, emitted once per report interval and at the end.</summary>
public sealed record TrainingReport(
    long Frames,
    double Seconds,
    double FramesPerSecond,
    int Episodes,
    double? MeanReturn,
    double MeanPolicyLag,
    long Updates,
    double TotalLoss,
    double PolicyLoss,
    double BaselineLoss,
    double Entropy,
    double Kl,
    float LearningRate,
    int QueueDepth);

/// <summary>How a run ended.</summary>
public sealed record TrainingResult(
    TrainingOptions Options,
    bool Solved,
    long Frames,
    double Seconds,
    long? FramesToSolve,
    double? SecondsToSolve,
    double? FinalMeanReturn,
    long Updates,
    IReadOnlyList<TrainingReport> Reports)
{
    public double FramesPerSecond => Seconds > 0 ? Frames / Seconds : 0;
    /// <summary>How actors synchronised: pulls and bytes summed over actors, and unrolls produced.</summary>
    public SyncStats Sync { get; init; } = new(0, 0, 0);
}

/// <summary>Weight traffic of a run: snapshots loaded by actors, their bytes, and the unrolls the actors produced.</summary>
public sealed record SyncStats(long WeightPulls, long WeightPullBytes, long Unrolls);
