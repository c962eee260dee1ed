using RLMesh.Core.Runtime;
using RLMesh.Hosting;

namespace RLMesh.Learner;

/// <summary>Settings of the learner, bound from the <c>Learner</c> configuration section. Unset values take the env's defaults.</summary>
public sealed class LearnerOptions
{
    public const string Section = "Learner";

    public long? MaxFrames { get; set; }
    /// <summary>Stop when the 100-episode mean return reaches this; unset: the env's solved threshold.</summary>
    public double? TargetReturn { get; set; }
    public float? LearningRate { get; set; }
    public float? EntropyCost { get; set; }
    /// <summary>impact: actors act with the target network (one snapshot per target copy); unset: the algorithm's default.</summary>
    public bool? ImpactActorsFollowTarget { get; set; }
    /// <summary>rmsprop or adam.</summary>
    public string? Optimizer { get; set; }
    /// <summary>Where learner.rlmckpt lives; the learner resumes from it on start.</summary>
    public string CheckpointDir { get; set; } = "checkpoints";
    public double CheckpointSeconds { get; set; } = 10;
    /// <summary>Also checkpoint every N updates (0: by time only).</summary>
    public long CheckpointUpdates { get; set; }
    public double ReportSeconds { get; set; } = 1;
    /// <summary>
    /// Least seconds between two weight snapshots sent to Redis (the newest version at that moment goes; on-policy
    /// algorithms publish every version at once, their runners wait for it). Each version costs Redis, the parameter
    /// server and every runner a pull, and at hundreds of updates per second publishing all of them held a small cluster
    /// well below the embedded frames/s (docs/benchmarks.md#cluster-runner-nice). 0 publishes every update.
    /// </summary>
    public double PublishIntervalSeconds { get; set; } = 0.01;
    /// <summary>Stop the process once solved or at MaxFrames (the launcher notices the exit).</summary>
    public bool ExitWhenDone { get; set; } = true;
    /// <summary>Mode central-inference: the Kestrel URL the learner's inference endpoint (/rlmesh/v1/inference) binds.</summary>
    public string InferenceUrl { get; set; } = "http://0.0.0.0:8090";
    /// <summary>Mode central-inference: unrolls per update (there is no replay role to form batches).</summary>
    public int BatchUnrolls { get; set; } = 4;

    public TrainingOptions ToTrainingOptions(ClusterOptions cluster)
    {
        var o = cluster.WithNetwork(TrainingOptions.ForEnvironment(cluster.Env, cluster.Algorithm.ToLowerInvariant()));
        o = o with
        {
            Sync = cluster.SyncOptions(),
            Seed = cluster.Seed,
            Hidden = cluster.HiddenSizes(),
            UnrollLength = cluster.UnrollLength,
            MaxFrames = MaxFrames ?? o.MaxFrames,
            TargetReturn = TargetReturn ?? o.TargetReturn,
            LearningRate = LearningRate ?? o.LearningRate,
            Optimizer = Optimizer?.ToLowerInvariant() switch
            {
                null => o.Optimizer,
                "rmsprop" => OptimizerKind.RmsProp,
                "adam" => OptimizerKind.Adam,
                _ => throw new ArgumentException($"Learner:Optimizer must be rmsprop or adam, not '{Optimizer}'."),
            },
        };
        if (EntropyCost is float e)
            o = o with { Impala = o.Impala with { EntropyCost = e }, Impact = o.Impact with { EntropyCost = e }, Ppo = o.Ppo with { EntropyCost = e } };
        if (ImpactActorsFollowTarget is bool follow)
            o = o with { Impact = o.Impact with { ActorsFollowTarget = follow } };
        return o;
    }
}
