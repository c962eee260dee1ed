using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// Loss terms of one learner update, common to every algorithm. PolicyLoss, BaselineLoss (the value
/// loss) and EntropyLoss are the terms as the algorithm reduces them (see docs/algorithms.md);
/// Entropy and Kl are always means over valid steps, and Kl is KL(behaviour || current): how far the
/// policy that produced the batch is from the one being trained (the policy lag in nats).
/// </summary>
public readonly record struct LearnerLoss(
    double TotalLoss, double PolicyLoss, double BaselineLoss, double EntropyLoss,
    double Entropy, double Kl, int ValidSteps)
{
    public static LearnerLoss From(ImpalaLossResult r) =>
        new(r.TotalLoss, r.PolicyLoss, r.BaselineLoss, r.EntropyLoss, r.Entropy, r.Kl, r.ValidSteps);
}

/// <summary>What one learner update did.</summary>
public readonly record struct LearnerUpdateStats(LearnerLoss Loss, float GradientNorm, long Version)
{
    /// <summary>KL(behaviour || current), mean over valid steps (see <see cref="LearnerLoss.Kl"/>).</summary>
    public double Kl => Loss.Kl;
}

/// <summary>
/// The seam between a runtime (embedded trainer, learner service) and an algorithm: the runtime hands
/// over batches and publishes <see cref="Network"/>'s parameters under <see cref="Version"/>; how a
/// batch becomes a parameter change is the algorithm's business.
/// </summary>
public interface ILearner
{
    /// <summary>The network the actors act with (the online network).</summary>
    IActorCriticNetwork Network { get; }
    Optimizer Optimizer { get; }
    /// <summary>The version of the parameters the network holds now; every update increments it.</summary>
    long Version { get; }
    LearnerUpdateStats Update(Trajectory batch);

    /// <summary>
    /// The parameters actors should act with: the online network at <see cref="Version"/> (default), or a slower copy
    /// (IMPACT's target network when <see cref="ImpactOptions.ActorsFollowTarget"/>). Runtimes publish a snapshot of
    /// <see cref="ActingNetwork"/> whenever <see cref="ActingVersion"/> changes, and only then.
    /// </summary>
    IActorCriticNetwork ActingNetwork => Network;
    /// <summary>The version of <see cref="ActingNetwork"/>'s parameters.</summary>
    long ActingVersion => Version;

    /// <summary>
    /// Per batch column of the last update: KL(behaviour || current) summed over its valid steps. APS turns
    /// these into a divergence per runner. Empty when the algorithm does not measure it per column.
    /// </summary>
    ReadOnlySpan<double> ColumnKlSums => ReadOnlySpan<double>.Empty;
    /// <summary>Per batch column of the last update: valid steps (the denominators of <see cref="ColumnKlSums"/>).</summary>
    ReadOnlySpan<int> ColumnValidSteps => ReadOnlySpan<int>.Empty;
}

/// <summary>The step every learner ends with, in one place.</summary>
internal static class GradientStep
{
    /// <summary>
    /// Zeroes the gradients, backpropagates d(loss)/d(outputs) and d(loss)/d(values), clips the global norm and
    /// steps the optimizer. Returns the norm before clipping.
    /// </summary>
    public static float Apply(IActorCriticNetwork network, Optimizer optimizer, ReadOnlySpan<float> dOutputs,
        ReadOnlySpan<float> dValues, float maxGradNorm)
    {
        network.Parameters.ZeroGradients();
        network.Backward(dOutputs, dValues);
        float norm = GradientClipping.ClipGlobalNorm(network.Parameters.Gradients, maxGradNorm);
        optimizer.Step();
        return norm;
    }
}

/// <summary>The training forward pass over a whole batch's T+1 observation rows per column.</summary>
internal static class BatchForward
{
    /// <summary>
    /// Feed-forward networks see independent rows. A recurrent network replays each column from the unroll's
    /// <see cref="Trajectory.InitialCoreState"/>, resetting at episode starts (TorchBeast's --use_lstm);
    /// <paramref name="starts"/> is its scratch buffer.
    /// </summary>
    public static void Run(IActorCriticNetwork network, Trajectory batch, ref bool[] starts, Span<float> outputs, Span<float> values)
    {
        int rows = (batch.Steps + 1) * batch.Envs;
        if (batch.CoreStateSize != network.CoreStateSize)
            throw new ArgumentException($"the batch carries {batch.CoreStateSize} floats of recurrent state per column, the network needs {network.CoreStateSize}");
        if (network.CoreStateSize == 0)
        {
            network.Forward(batch.Observations, rows, outputs, values);
            return;
        }
        var flags = Scratch.Ensure(ref starts, rows);
        batch.EpisodeStarts(flags);
        network.Forward(batch.Observations, batch.Steps + 1, batch.Envs, batch.InitialCoreState, flags, outputs, values);
    }
}

/// <summary>Scratch buffers that grow to the largest size asked for and are then reused.</summary>
internal static class Scratch
{
    public static Span<float> Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    public static Span<bool> Ensure(ref bool[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new bool[length];
        return buffer.AsSpan(0, length);
    }

    public static Span<int> Ensure(ref int[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new int[length];
        return buffer.AsSpan(0, length);
    }
}

/// <summary>
/// Per batch column: KL(behaviour || current) summed over the column's valid steps, and the valid steps
/// counted. A batch is several unrolls side by side along B, so a column range is one unroll (one runner):
/// APS turns these into a divergence per runner (see Sync/DivergenceTracker). Buffers grow to the widest
/// batch seen and are reused, so an update allocates nothing.
/// </summary>
internal sealed class ColumnKl
{
    private double[] _sums = [];
    private int[] _valid = [];
    private int _b;

    public ReadOnlySpan<double> Sums => _sums.AsSpan(0, _b);
    public ReadOnlySpan<int> ValidSteps => _valid.AsSpan(0, _b);

    /// <summary>Starts a batch of <paramref name="columns"/> columns with every sum and count at zero.</summary>
    public void Reset(int columns)
    {
        if (_sums.Length < columns)
        {
            _sums = new double[columns];
            _valid = new int[columns];
        }
        _b = columns;
        _sums.AsSpan(0, columns).Clear();
        _valid.AsSpan(0, columns).Clear();
    }

    /// <summary>Adds one valid step's KL to <paramref name="column"/>.</summary>
    public void Add(int column, double kl)
    {
        _sums[column] += kl;
        _valid[column]++;
    }
}
