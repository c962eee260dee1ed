using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Tests.Algorithms;

/// <summary>A random [T, B] batch plus online-network outputs for it, for loss tests.</summary>
internal sealed class RandomBatch
{
    public required Trajectory Batch { get; init; }
    /// <summary>[(T+1)*B, P] online outputs.</summary>
    public required float[] Outputs { get; init; }
    /// <summary>[(T+1)*B] online values.</summary>
    public required float[] Values { get; init; }
    /// <summary>[T*B, P] target-network outputs (behaviour perturbed again).</summary>
    public required float[] TargetOutputs { get; init; }
    public required PolicySpec Policy { get; init; }
    public float[] NewDOutputs() => new float[Outputs.Length];
    public float[] NewDValues() => new float[Values.Length];

    public static RandomBatch Create(PolicySpec policy, int T, int B, ulong seed, double spread = 0.7)
    {
        var rng = new Rng(seed);
        int P = policy.OutputSize;
        var batch = new Trajectory(T, B, observationSize: 1, policy.ActionSize, P);
        var outputs = GradientCheck.RandomVector(ref rng, (T + 1) * B * P, -1.5, 1.5);
        var values = GradientCheck.RandomVector(ref rng, (T + 1) * B, -3, 3);
        var target = new float[T * B * P];
        for (int i = 0; i < T * B; i++)
        {
            batch.Valid[i] = true;
            batch.Rewards[i] = (float)rng.Uniform(-2, 2);
            var behaviour = batch.BehaviourPolicy.AsSpan(i * P, P);
            for (int k = 0; k < P; k++)
            {
                behaviour[k] = outputs[i * P + k] + (float)rng.Uniform(-spread, spread);
                target[i * P + k] = outputs[i * P + k] + (float)rng.Uniform(-spread, spread);
            }
            if (policy.Kind == PolicyKind.Categorical)
                batch.Actions[i] = Categorical.Sample(behaviour, ref rng);
            else
            {
                int D = policy.Size;
                DiagonalGaussian.Sample(behaviour[..D], behaviour[D..], ref rng, batch.Actions.AsSpan(i * D, D));
            }
        }
        return new RandomBatch { Batch = batch, Outputs = outputs, Values = values, TargetOutputs = target, Policy = policy };
    }

    /// <summary>Episode ends at (t, b); the next step (if inside the unroll) is the autoreset step.</summary>
    public RandomBatch EndEpisode(int t, int b, bool terminated)
    {
        int i = t * Batch.Envs + b;
        if (terminated) Batch.Terminated[i] = true; else Batch.Truncated[i] = true;
        if (t + 1 < Batch.Steps) Batch.Valid[i + Batch.Envs] = false;
        return this;
    }

    /// <summary>The usual three episode ends: truncated, terminated, truncated at the last step.</summary>
    public RandomBatch WithEpisodeEnds()
    {
        EndEpisode(1, 0, terminated: false);
        EndEpisode(2, 1, terminated: true);
        EndEpisode(Batch.Steps - 1, 2, terminated: false);
        return this;
    }

    /// <summary>Rows whose gradient must be exactly zero: the autoreset steps and the bootstrap rows.</summary>
    public IEnumerable<int> RowsWithoutGradient()
    {
        int n = Batch.Steps * Batch.Envs;
        for (int i = 0; i < n; i++) if (!Batch.Valid[i]) yield return i;
        for (int i = n; i < n + Batch.Envs; i++) yield return i;
    }
}
