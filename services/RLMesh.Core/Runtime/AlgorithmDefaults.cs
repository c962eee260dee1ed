using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>
/// The algorithms `rlmesh train --algo` accepts, their documented per-environment defaults, and the
/// learner and batch source each one runs with. docs/algorithms.md lists every default and its source.
/// </summary>
public static class AlgorithmDefaults
{
    public const string Impala = "impala", Impact = "impact", Ppo = "ppo", Vmpo = "vmpo";
    public static IReadOnlyList<string> Names { get; } = [Impala, Impact, Ppo, Vmpo];

    /// <summary>
    /// <paramref name="envDefaults"/> (IMPALA's per-environment defaults) adjusted for <paramref name="algorithm"/>.
    /// Unknown names are kept as given, for <see cref="TrainingOptions.Validate"/> to report.
    /// </summary>
    public static TrainingOptions Apply(TrainingOptions envDefaults, string algorithm)
    {
        var o = envDefaults with { Algorithm = algorithm };
        bool continuous = EnvRegistry.Spec(o.EnvId).ActionSpace is Box;
        return algorithm switch
        {
            // Mean-reduced losses: Adam (RLlib APPO's optimizer); grad clip 40 (RLlib). Continuous control keeps
            // lr 2e-3 and rewards scaled by 0.1 (unscaled, the value loss dominated: docs/benchmarks.md#impact-unscaled-rewards).
            // Discrete tasks, each setting measured against the one before it (docs/benchmarks.md):
            // T = 10, lr 3e-3 with entropy 0.001, rewards scaled by 0.03 (#impact-tuning); the target copied every
            // N * K = 8 trained batches and, for CartPole, rewards x0.1 with lr 5e-3 (#impact-target-frequency);
            // actors follow the target network, one snapshot per target copy (#impact-follow-target); 4 environments
            // per actor, batches of 2 x 4 x 10 = 80 frames: more updates per frame on fresher data (#impact-envs-per-actor).
            Impact when !continuous => o with
            {
                Optimizer = OptimizerKind.Adam,
                LearningRate = o.EnvId == "CartPole-v1" ? 5e-3f : 3e-3f,
                MaxGradNorm = 40f,
                UnrollLength = 10,
                EnvsPerActor = 4,
                Impact = o.Impact with
                {
                    RewardScale = o.EnvId == "CartPole-v1" ? 0.1f : 0.03f,
                    EntropyCost = 0.001f,
                    TargetUpdateFrequency = 1,
                    ActorsFollowTarget = true,
                },
            },
            Impact => o with
            {
                Optimizer = OptimizerKind.Adam,
                LearningRate = 2e-3f,
                MaxGradNorm = 40f,
                Impact = o.Impact with { RewardScale = 0.1f },
            },
            // On-policy: synchronous actors, one unroll each per batch (2 x 8 envs x 64 steps = 1024 frames).
            // Adam, grad-norm clip 0.5, annealed lr (CleanRL). lr 1e-3 for the Gym classics here (CleanRL: 2.5e-4
            // with 4 x 128-step batches; our batches are twice as large).
            Ppo when !continuous => o with
            {
                Synchronous = true,
                BatchUnrolls = o.Actors,
                EnvsPerActor = 8,
                UnrollLength = 64,
                Optimizer = OptimizerKind.Adam,
                LearningRate = 1e-3f,
                MaxGradNorm = 0.5f,
            },
            // Continuous control (CleanRL ppo_continuous_action: 2048-step batches, 10 epochs, 32 minibatches,
            // lr 3e-4, entropy 0). Without observation/return normalization wrappers we scale rewards by 0.1
            // and use gamma 0.95 on Pendulum's short dense-reward horizon.
            Ppo => o with
            {
                Synchronous = true,
                BatchUnrolls = o.Actors,
                EnvsPerActor = 8,
                UnrollLength = 128,
                Optimizer = OptimizerKind.Adam,
                LearningRate = 3e-4f,
                MaxGradNorm = 0.5f,
                Ppo = o.Ppo with
                {
                    EntropyCost = 0f,
                    Epochs = 10,
                    Minibatches = 32,
                    RewardScale = 0.1f,
                    Discount = o.EnvId == "Pendulum-v1" ? 0.95f : 0.99f,
                },
            },
            // Asynchronous actors as IMPALA's (V-MPO uses no importance weights; the trust region is
            // measured from the target network). Adam (paper) with lr 2e-3 rather than the paper's 1e-4 (one
            // update per 640 frames here), rewards scaled by 0.1 (unscaled, CartPole's value loss swamped
            // learning: docs/benchmarks.md#vmpo-reward-scale).
            Vmpo => o with
            {
                Optimizer = OptimizerKind.Adam,
                LearningRate = 2e-3f,
                MaxGradNorm = 40f,
                Vmpo = (continuous ? VmpoOptions.ContinuousDefaults : o.Vmpo) with
                {
                    RewardScale = 0.1f,
                    Discount = o.EnvId == "Pendulum-v1" ? 0.95f : 0.99f,
                },
                // Continuous control: a constant lr (annealed, Pendulum stalled) and T = 10 (twice the updates per
                // frame, fewer frames to solve): docs/benchmarks.md#vmpo-continuous.
                AnnealLearningRate = !continuous,
                UnrollLength = continuous ? 10 : o.UnrollLength,
            },
            _ => o,
        };
    }

    /// <summary>
    /// The learner for <c>options.Algorithm</c> over <paramref name="network"/>, starting at <paramref name="initialVersion"/>
    /// (the learner service resumes above its checkpoint and the store's latest version).
    /// </summary>
    public static ILearner CreateLearner(TrainingOptions options, IActorCriticNetwork network, Optimizer optimizer, long initialVersion = 0) => options.Algorithm switch
    {
        Impala => new ImpalaLearner(network, optimizer, options.Impala, options.MaxGradNorm, initialVersion),
        Impact => new ImpactLearner(network, optimizer, options.Impact, options.MaxGradNorm, initialVersion),
        Ppo => new PpoLearner(network, optimizer, options.Ppo, options.MaxGradNorm, options.Seed, initialVersion),
        Vmpo => new VmpoLearner(network, optimizer, options.Vmpo, options.MaxGradNorm, initialVersion),
        var other => throw new ArgumentException($"unknown algorithm '{other}'"),
    };

    /// <summary>Batches from the queue; IMPACT reuses them through its circular buffer.</summary>
    public static IBatchSource CreateBatchSource(TrainingOptions options, ITrajectoryQueue queue)
    {
        var source = new QueueBatchSource(queue, options.BatchUnrolls, orderBySource: options.Synchronous);
        return options.Algorithm == Impact
            ? new ImpactCircularBuffer(source, options.Impact.BufferBatches, options.Impact.ReusesPerBatch, options.Impact.OpportunisticReuse)
            : source;
    }

    /// <summary>Algorithm-specific problems with the options, as messages a user can act on.</summary>
    internal static void Validate(TrainingOptions o, List<string> errors)
    {
        if (!Names.Contains(o.Algorithm))
        {
            errors.Add($"unknown algorithm '{o.Algorithm}' (available: {string.Join(", ", Names)})");
            return;
        }
        if (o.Synchronous && o.BatchUnrolls != o.Actors)
            errors.Add($"synchronous (on-policy) training takes one unroll per actor per batch: --batch-unrolls must equal --actors ({o.Actors})");
        if (o.Algorithm == Ppo && !o.Synchronous)
            errors.Add("ppo is on-policy and needs synchronous actors");
        if (o.Algorithm == Ppo && (o.Ppo.Epochs < 1 || o.Ppo.Minibatches < 1))
            errors.Add("ppo needs at least one epoch and one minibatch");
        if (o.Algorithm == Impact && (o.Impact.BufferBatches < 1 || o.Impact.ReusesPerBatch < 1 || o.Impact.TargetUpdateFrequency < 1))
            errors.Add("impact needs a buffer of at least 1 batch, at least 1 use per batch and a target update frequency of at least 1");
    }
}
