using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// One PPO update per batch: forward the network over all T+1 rows for the old values, GAE, then
/// <see cref="PpoOptions.Epochs"/> passes over the valid steps in <see cref="PpoOptions.Minibatches"/>
/// shuffled minibatches, each a forward, <see cref="PpoLoss"/>, backward, global-norm clip and optimizer
/// step. The version goes up by one per batch (actors see one new snapshot per batch).
/// <para>PPO is on-policy: the ratio's denominator is the behaviour policy stored in the batch, so the
/// batch must come from the parameters this learner holds at the start of the update. The embedded runtime
/// guarantees it with its synchronous mode (actors wait for each new version; policy lag 0).</para>
/// </summary>
public sealed class PpoLearner : ILearner
{
    private readonly PpoLoss _loss;
    private readonly float _maxGradNorm;
    private readonly PolicyOps _ops;
    private readonly ColumnKl _columnKl = new();
    private Rng _rng;
    private float[] _outputs = [], _values = [], _advantages = [], _returns = [];
    private float[] _mbObs = [], _mbOutputs = [], _mbValues = [], _mbBehaviour = [], _mbActions = [],
        _mbAdvantages = [], _mbReturns = [], _mbOldValues = [], _dOutputs = [], _dValues = [];
    private int[] _indices = [];

    public PpoLearner(IActorCriticNetwork network, Optimizer optimizer, PpoOptions options, float maxGradNorm, ulong seed, long initialVersion = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Minibatches, 1);
        Network = network;
        Optimizer = optimizer;
        _loss = new PpoLoss(options, network.Spec.Head.Distribution);
        _maxGradNorm = maxGradNorm;
        _ops = new PolicyOps(network.Spec.Head.Distribution);
        _rng = new Rng(seed ^ 0x5050_4F00UL);
        Version = initialVersion;
    }

    public IActorCriticNetwork Network { get; }
    public Optimizer Optimizer { get; }
    public long Version { get; private set; }
    public PpoOptions Options => _loss.Options;

    /// <summary>
    /// Per batch column of the last update: KL(behaviour || current) summed over the column's samples in the
    /// last epoch (as <see cref="LearnerLoss.Kl"/>, measured before each minibatch step), for APS.
    /// </summary>
    public ReadOnlySpan<double> ColumnKlSums => _columnKl.Sums;
    /// <summary>Per batch column of the last update: samples of the last epoch (the denominators of <see cref="ColumnKlSums"/>).</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _columnKl.ValidSteps;

    public LearnerUpdateStats Update(Trajectory batch)
    {
        var o = _loss.Options;
        int T = batch.Steps, B = batch.Envs, n = T * B, rows = n + B;
        int P = Network.PolicyOutputSize, A = batch.ActionSize, O = batch.ObservationSize;
        if (batch.PolicyOutputSize != P)
            throw new ArgumentException($"batch policy outputs have width {batch.PolicyOutputSize}, the network produces {P}");

        // Old values V_old for GAE and value clipping (the network still holds the behaviour parameters).
        var outputs = Scratch.Ensure(ref _outputs, rows * P);
        var values = Scratch.Ensure(ref _values, rows);
        Network.Forward(batch.Observations, rows, outputs, values);
        var advantages = Scratch.Ensure(ref _advantages, n);
        var returns = Scratch.Ensure(ref _returns, n);
        PpoLoss.Gae(batch, values, o.Discount, o.GaeLambda, o.RewardScale, advantages, returns);

        // Only valid steps are samples: autoreset steps contribute nothing to any minibatch.
        int valid = 0;
        var indices = Scratch.Ensure(ref _indices, n);
        for (int i = 0; i < n; i++)
            if (batch.Valid[i]) indices[valid++] = i;
        indices = indices[..valid];
        int mbSize = Math.Max(1, valid / o.Minibatches);

        var mbObs = Scratch.Ensure(ref _mbObs, mbSize * O);
        var mbOutputs = Scratch.Ensure(ref _mbOutputs, mbSize * P);
        var mbValues = Scratch.Ensure(ref _mbValues, mbSize);
        var mbBehaviour = Scratch.Ensure(ref _mbBehaviour, mbSize * P);
        var mbActions = Scratch.Ensure(ref _mbActions, mbSize * A);
        var mbAdv = Scratch.Ensure(ref _mbAdvantages, mbSize);
        var mbReturns = Scratch.Ensure(ref _mbReturns, mbSize);
        var mbOldValues = Scratch.Ensure(ref _mbOldValues, mbSize);
        var dOutputs = Scratch.Ensure(ref _dOutputs, mbSize * P);
        var dValues = Scratch.Ensure(ref _dValues, mbSize);

        _columnKl.Reset(B);
        double total = 0, policy = 0, value = 0, entropyLoss = 0, entropy = 0, kl = 0;
        int steps = 0, lastEpochSteps = 0;
        double lastEpochKl = 0;
        float norm = 0;
        for (int epoch = 0; epoch < o.Epochs && valid > 0; epoch++)
        {
            Shuffle(indices);
            for (int start = 0; start + mbSize <= valid; start += mbSize)
            {
                for (int k = 0; k < mbSize; k++)
                {
                    int i = indices[start + k];
                    batch.Observations.AsSpan(i * O, O).CopyTo(mbObs.Slice(k * O, O));
                    batch.BehaviourPolicy.AsSpan(i * P, P).CopyTo(mbBehaviour.Slice(k * P, P));
                    batch.Actions.AsSpan(i * A, A).CopyTo(mbActions.Slice(k * A, A));
                    mbAdv[k] = advantages[i];
                    mbReturns[k] = returns[i];
                    mbOldValues[k] = values[i];
                }
                Network.Forward(mbObs, mbSize, mbOutputs, mbValues);
                var r = _loss.Compute(mbSize, mbOutputs, mbValues, mbBehaviour, mbActions, mbAdv, mbReturns, mbOldValues, dOutputs, dValues);
                norm = GradientStep.Apply(Network, Optimizer, dOutputs, dValues, _maxGradNorm);

                total += r.TotalLoss; policy += r.PolicyLoss; value += r.ValueLoss;
                entropyLoss += r.EntropyLoss; entropy += r.Entropy; kl += r.Kl;
                steps++;
                if (epoch == o.Epochs - 1)
                {
                    lastEpochKl += r.Kl;
                    lastEpochSteps++;
                    for (int k = 0; k < mbSize; k++)
                        _columnKl.Add(indices[start + k] % B, _ops.Kl(mbBehaviour.Slice(k * P, P), mbOutputs.Slice(k * P, P)));
                }
            }
        }
        Version++;
        double d = Math.Max(steps, 1);
        // Kl: KL(behaviour || current) over the last epoch, i.e. how far this update moved the policy.
        var loss = new LearnerLoss(total / d, policy / d, value / d, entropyLoss / d, entropy / d,
            lastEpochSteps > 0 ? lastEpochKl / lastEpochSteps : 0, valid);
        return new LearnerUpdateStats(loss, norm, Version);
    }

    private void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = _rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
