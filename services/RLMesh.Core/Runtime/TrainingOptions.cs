using RLMesh.Core.Algorithms;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Sync;

namespace RLMesh.Core.Runtime;

public enum OptimizerKind { RmsProp, Adam }

/// <summary>
/// Everything a training run needs. <see cref="ForEnvironment"/> gives the documented defaults per
/// environment; the CLI overrides single fields from flags.
/// </summary>
public sealed record TrainingOptions
{
    public required string EnvId { get; init; }
    public string Algorithm { get; init; } = "impala";
    public ulong Seed { get; init; } = 1;

    /// <summary>Actor loops, each stepping its own vector environment on its own thread.</summary>
    public int Actors { get; init; } = 2;
    public int EnvsPerActor { get; init; } = 16;
    /// <summary>T: steps per unroll.</summary>
    public int UnrollLength { get; init; } = 20;
    /// <summary>Unrolls concatenated into one learner batch (B = BatchUnrolls * EnvsPerActor).</summary>
    public int BatchUnrolls { get; init; } = 2;
    /// <summary>Bound of the actor-to-learner queue, in unrolls.</summary>
    public int QueueCapacity { get; init; } = 4;

    public long MaxFrames { get; init; } = 1_000_000;
    /// <summary>Stop once the 100-episode mean return reaches this; null: the environment's solved threshold.</summary>
    public double? TargetReturn { get; init; }
    /// <summary>Episodes in the moving mean that decides "solved" (Gym's convention: 100).</summary>
    public int ReturnWindow { get; init; } = 100;

    public int[] Hidden { get; init; } = [64, 64];
    public Activation Activation { get; init; } = Activation.Tanh;
    public float InitialLogStd { get; init; } = 0f;
    /// <summary>
    /// Map bounded observation elements onto [-1, 1] inside the network (see NetworkSpec.InputScale). Off by
    /// default: on Acrobot it slowed every algorithm (docs/benchmarks.md#observation-scaling), since the raw angular
    /// velocities carry the sign the energy-pumping policy needs at a scale the first layer responds to.
    /// </summary>
    public bool ScaleObservations { get; init; } = false;

    /// <summary>Which engine computes the network (<c>--backend</c>): Auto picks native for an MLP on vector observations.</summary>
    public NetworkBackend Backend { get; init; } = NetworkBackend.Auto;
    /// <summary>Torso preset (<c>--net</c>); conv presets need the torch backend.</summary>
    public NetworkTorso Net { get; init; } = NetworkTorso.Mlp;
    /// <summary>Hidden size of an LSTM core (<c>--lstm</c>); 0 for none. Needs the torch backend.</summary>
    public int LstmSize { get; init; }
    /// <summary>
    /// Observation elements the agent sees (<c>--observe</c>), in this order; null: all of them
    /// (see <see cref="ObservationSubset"/>).
    /// </summary>
    public int[]? Observe { get; init; }

    /// <summary>The environment as the agent sees it (<see cref="Observe"/> applied).</summary>
    public EnvSpec EnvSpec() => ObservationSubset.SpecOf(EnvId, Observe);

    /// <summary>A factory of environments as the agent sees them (<see cref="Observe"/> applied).</summary>
    public Func<Env> EnvFactory() => ObservationSubset.Factory(EnvId, Observe);

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.RmsProp;
    public float LearningRate { get; init; } = 3e-3f;
    /// <summary>Linear decay of the learning rate to zero at MaxFrames (TorchBeast does this).</summary>
    public bool AnnealLearningRate { get; init; } = true;
    public float RmsPropAlpha { get; init; } = 0.99f;
    public float RmsPropEpsilon { get; init; } = 0.01f;
    public float RmsPropMomentum { get; init; } = 0f;
    public float MaxGradNorm { get; init; } = 40f;

    /// <summary>
    /// IMPALA loss settings. Rewards scaled by 0.01 keep value targets of classic-control tasks (returns in the
    /// hundreds) near unit scale: without it, the first value errors swamp the policy gradient through the shared
    /// torso and the norm clip, and Acrobot's policy collapses before it ever reaches the goal. The entropy cost is
    /// relative to that scale (0.001 here is 0.1 on unscaled rewards). Measured: docs/benchmarks.md#impala-reward-scale.
    /// </summary>
    public ImpalaOptions Impala { get; init; } = new() { RewardScale = 0.01f, EntropyCost = 0.001f };

    /// <summary>When actors take new weights (every unroll, every K, APS); see Sync/SyncPolicy.cs.</summary>
    public SyncOptions Sync { get; init; } = new();
    public ImpactOptions Impact { get; init; } = new();
    public PpoOptions Ppo { get; init; } = new();
    public VmpoOptions Vmpo { get; init; } = new();

    /// <summary>
    /// On-policy mode: each actor waits for the version after the one it last acted with, so every batch
    /// comes from the learner's current parameters (policy lag 0). Needs BatchUnrolls == Actors.
    /// </summary>
    public bool Synchronous { get; init; }

    /// <summary>Seconds between progress reports (and metrics.csv rows).</summary>
    public double ReportIntervalSeconds { get; init; } = 1.0;

    /// <summary>Documented per-environment defaults (docs/algorithms.md, "Per-environment defaults").</summary>
    public static TrainingOptions ForEnvironment(string envId)
    {
        var spec = EnvRegistry.Spec(envId);
        var options = new TrainingOptions { EnvId = spec.Id, TargetReturn = spec.RewardThreshold };
        return spec.Id switch
        {
            // Entropy 0.003 rather than 0.001: with policy lag (a cluster trains on data ~10-25 versions old) the 0.001
            // policy collapsed to one action for long stretches, and without lag 0.003 costs nothing
            // (docs/benchmarks.md#impala-entropy-cartpole). Acrobot keeps 0.001: it solves under lag as fast as
            // without, and 0.003 slowed it (docs/benchmarks.md#impala-acrobot-entropy).
            "CartPole-v1" => options with { Impala = options.Impala with { EntropyCost = 0.003f } },
            "Acrobot-v1" => options with { MaxFrames = 2_000_000 },
            "MountainCar-v0" => options with { MaxFrames = 5_000_000 },
            "Pendulum-v1" => options with { MaxFrames = 2_000_000, TargetReturn = -200 },
            "MountainCarContinuous-v0" => options with { MaxFrames = 2_000_000 },
            // MinAtar: the paper's network (one 16-filter 3x3 conv, dense 128; needs the torch backend) and its 5 M
            // frame budget; the games have no solved threshold. Rewards are already 0/1 per event: at the classic-control
            // scale of 0.01 Asterix never left the uniform policy (docs/benchmarks.md#minatar-reward-scale).
            _ when spec.Id.StartsWith("MinAtar/", StringComparison.Ordinal) => options with
            {
                Net = NetworkTorso.MinAtar, MaxFrames = 5_000_000, Impala = options.Impala with { RewardScale = 1f },
            },
            _ => options,
        };
    }

    /// <summary>Per-environment defaults for <paramref name="algorithm"/> (see <see cref="AlgorithmDefaults"/>).</summary>
    public static TrainingOptions ForEnvironment(string envId, string algorithm) =>
        AlgorithmDefaults.Apply(ForEnvironment(envId), algorithm);

    /// <summary>Problems with the combination of values, as messages a user can act on.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!EnvRegistry.All.Any(s => s.Id == EnvId))
            errors.Add($"unknown environment '{EnvId}' (known: {string.Join(", ", EnvRegistry.All.Select(s => s.Id))})");
        AlgorithmDefaults.Validate(this, errors);
        if (Actors < 1) errors.Add("--actors must be at least 1");
        if (EnvsPerActor < 1) errors.Add("--envs-per-actor must be at least 1");
        if (UnrollLength < 1) errors.Add("--unroll-length must be at least 1");
        if (BatchUnrolls < 1) errors.Add("--batch-unrolls must be at least 1");
        if (QueueCapacity < 1) errors.Add("--queue-capacity must be at least 1");
        if (BatchUnrolls > Actors * QueueCapacity + Actors)
            errors.Add($"--batch-unrolls {BatchUnrolls} can never fill: {Actors} actors with a queue of {QueueCapacity} hold at most {Actors * QueueCapacity + Actors} unrolls");
        if (MaxFrames < 1) errors.Add("--max-frames must be positive");
        if (TargetReturn is double r && !double.IsFinite(r)) errors.Add("--target-return must be a finite number");
        if (ReturnWindow < 1) errors.Add("the return window must be at least 1 episode");
        if (Hidden.Length == 0 || Hidden.Any(h => h < 1)) errors.Add("--hidden needs one or more positive layer sizes");
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) errors.Add("--lr must be a positive number");
        if (!(Impala.Discount > 0 && Impala.Discount <= 1)) errors.Add("--discount must be in (0, 1]");
        if (!(Impala.BaselineCost >= 0) || !float.IsFinite(Impala.BaselineCost)) errors.Add("--baseline-cost must be a non-negative number");
        if (!(Impala.EntropyCost >= 0) || !float.IsFinite(Impala.EntropyCost)) errors.Add("--entropy-cost must be a non-negative number");
        if (!(Impala.RewardScale > 0) || !float.IsFinite(Impala.RewardScale)) errors.Add("--reward-scale must be a positive number");
        if (!(MaxGradNorm > 0)) errors.Add("the gradient-norm clip must be positive");
        if (!(ReportIntervalSeconds > 0)) errors.Add("the report interval must be positive");
        if (LstmSize < 0) errors.Add("--lstm must be 0 (no LSTM) or a positive size");
        // Only IMPALA's learner replays unrolls from their recorded state; the others evaluate rows independently.
        if (LstmSize > 0 && Algorithm != AlgorithmDefaults.Impala && Algorithm != AlgorithmDefaults.Impact)
            errors.Add($"--lstm trains with --algo impala or impact only (their learners replay each unroll from the recorded LSTM state), not {Algorithm}");
        if (!Enum.IsDefined(Backend)) errors.Add($"unknown network backend {Backend}");
        if (!Enum.IsDefined(Net)) errors.Add($"unknown network preset {Net}");
        if (Observe is not null && EnvRegistry.All.Any(s => s.Id == EnvId))
        {
            try { ObservationSubset.SpecOf(EnvId, Observe); }
            catch (ArgumentException e) { errors.Add(e.Message); }
        }
        errors.AddRange(Sync.Validate());
        return errors;
    }
}
