using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// One IMPALA update: forward the current network over all T+1 observation rows of a batch, V-trace
/// losses against the behaviour policy carried in the batch, backward, global-norm clip, optimizer step,
/// and a new version stamp. Buffers grow to the largest batch seen and are reused.
/// </summary>
public sealed class ImpalaLearner : ILearner
{
    private readonly ImpalaLoss _loss;
    private readonly float _maxGradNorm;
    private float[] _policyOutputs = [], _values = [], _dPolicyOutputs = [], _dValues = [];
    private bool[] _episodeStarts = [];

    public ImpalaLearner(IActorCriticNetwork network, Optimizer optimizer, ImpalaOptions options, float maxGradNorm, long initialVersion = 0)
    {
        Network = network;
        Optimizer = optimizer;
        _loss = new ImpalaLoss(options, network.Spec.Head.Distribution);
        _maxGradNorm = maxGradNorm;
        Version = initialVersion;
    }

    public IActorCriticNetwork Network { get; }
    public Optimizer Optimizer { get; }
    /// <summary>The version of the parameters the network holds now; every update increments it.</summary>
    public long Version { get; private set; }

    /// <summary>Per batch column of the last update: sum of KL(behaviour || current) over valid steps (for APS).</summary>
    public ReadOnlySpan<double> ColumnKlSums => _loss.ColumnKlSums;
    /// <summary>Per batch column of the last update: valid steps.</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _loss.ColumnValidSteps;

    public LearnerUpdateStats Update(Trajectory batch)
    {
        int rows = (batch.Steps + 1) * batch.Envs;
        int p = Network.PolicyOutputSize;
        if (batch.PolicyOutputSize != p)
            throw new ArgumentException($"batch policy outputs have width {batch.PolicyOutputSize}, the network produces {p}");
        EnsureCapacity(ref _policyOutputs, rows * p);
        EnsureCapacity(ref _dPolicyOutputs, rows * p);
        EnsureCapacity(ref _values, rows);
        EnsureCapacity(ref _dValues, rows);
        var policyOutputs = _policyOutputs.AsSpan(0, rows * p);
        var values = _values.AsSpan(0, rows);
        var dPolicy = _dPolicyOutputs.AsSpan(0, rows * p);
        var dValues = _dValues.AsSpan(0, rows);

        BatchForward.Run(Network, batch, ref _episodeStarts, policyOutputs, values);
        var loss = _loss.Compute(batch, policyOutputs, values, dPolicy, dValues);
        float norm = GradientStep.Apply(Network, Optimizer, dPolicy, dValues, _maxGradNorm);
        Version++;
        return new LearnerUpdateStats(LearnerLoss.From(loss), norm, Version);
    }

    private static void EnsureCapacity(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }
}
