using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// One IMPACT update per trained batch: forward the online network over all T+1 rows and the target
/// network over the T step rows, <see cref="ImpactLoss"/>, backward, global-norm clip, optimizer step.
/// Every <see cref="ImpactOptions.TargetUpdatePeriod"/> trained batches the target network becomes a
/// hard copy of the online one; with UseKlLoss the KL coefficient adapts after every update (x1.5 when
/// KL(pi_target || pi) &gt; 2 * KlTarget, x0.5 when &lt; KlTarget / 2). Batch reuse (the circular
/// buffer of N batches trained K times each) is the batch source's job: see <see cref="ImpactCircularBuffer"/>.
/// With <see cref="ImpactOptions.ActorsFollowTarget"/> the actors act with the target network (<see cref="ActingNetwork"/>),
/// so a batch they produced since the last copy carries pi_target's outputs and skips the target forward pass. So does
/// the first update after a copy (or at the start), whose online forward pass is pi_target's.
/// </summary>
public sealed class ImpactLearner : ILearner
{
    private readonly ImpactLoss _loss;
    private readonly float _maxGradNorm;
    private readonly IInferenceSession _targetSession;
    private float[] _outputs = [], _values = [], _targetValues = [], _dOutputs = [], _dValues = [];
    private bool[] _episodeStarts = [];
    // pi_target's outputs per batch in the circular buffer: a batch trained K times between two target copies needs
    // the target forward pass once, not K times. One entry per buffer slot, the least recently computed replaced.
    private readonly TargetOutputs[] _targetCache;
    private int _nextCacheEntry;

    private sealed class TargetOutputs
    {
        public Trajectory? Batch;
        public long TargetUpdate = -1;
        public float[] Outputs = [];
    }

    public ImpactLearner(IActorCriticNetwork network, Optimizer optimizer, ImpactOptions options, float maxGradNorm, long initialVersion = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TargetUpdatePeriod, 1);
        Network = network;
        Optimizer = optimizer;
        TargetNetwork = network.Clone();
        _targetSession = TargetNetwork.CreateInferenceSession();
        _targetCache = new TargetOutputs[Math.Max(1, options.BufferBatches)];
        for (int i = 0; i < _targetCache.Length; i++)
            _targetCache[i] = new TargetOutputs();
        _loss = new ImpactLoss(options, network.Spec.Head.Distribution);
        _maxGradNorm = maxGradNorm;
        KlCoefficient = options.KlCoefficient;
        Version = initialVersion;
        TargetVersion = initialVersion;
    }

    public IActorCriticNetwork Network { get; }
    /// <summary>pi_target: the policy V-trace and the target-worker clip are computed against.</summary>
    public IActorCriticNetwork TargetNetwork { get; }
    public Optimizer Optimizer { get; }
    public long Version { get; private set; }
    public ImpactOptions Options => _loss.Options;
    /// <summary>Batches trained on so far (reused batches count once per use).</summary>
    public long TrainedBatches { get; private set; }
    /// <summary>Hard copies of the online network into the target network so far.</summary>
    public long TargetUpdates { get; private set; }
    /// <summary>The online network's version the target network holds.</summary>
    public long TargetVersion { get; private set; }
    /// <summary>Fresh target forward passes so far (a batch the target produced, or reused under the same target, needs none).</summary>
    public long TargetForwards { get; private set; }
    public IActorCriticNetwork ActingNetwork => Options.ActorsFollowTarget ? TargetNetwork : Network;
    public long ActingVersion => Options.ActorsFollowTarget ? TargetVersion : Version;
    /// <summary>The current (adaptive) KL coefficient.</summary>
    public float KlCoefficient { get; private set; }
    /// <summary>Per batch column of the last update: sum of KL(behaviour || current) over valid steps (for APS).</summary>
    public ReadOnlySpan<double> ColumnKlSums => _loss.ColumnKlSums;
    /// <summary>Per batch column of the last update: valid steps.</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _loss.ColumnValidSteps;
    /// <summary>The loss terms of the last update, including IMPACT-only diagnostics.</summary>
    public ImpactLossResult LastLoss { get; private set; }

    public LearnerUpdateStats Update(Trajectory batch)
    {
        int T = batch.Steps, B = batch.Envs, n = T * B, rows = n + B, P = Network.PolicyOutputSize;
        if (batch.PolicyOutputSize != P)
            throw new ArgumentException($"batch policy outputs have width {batch.PolicyOutputSize}, the network produces {P}");
        var outputs = Scratch.Ensure(ref _outputs, rows * P);
        var values = Scratch.Ensure(ref _values, rows);
        var dOutputs = Scratch.Ensure(ref _dOutputs, rows * P);
        var dValues = Scratch.Ensure(ref _dValues, rows);

        BatchForward.Run(Network, batch, ref _episodeStarts, outputs, values);
        var targetOutputs = TargetOutputsFor(batch, n, P, outputs);
        var r = _loss.Compute(batch, outputs, values, targetOutputs, KlCoefficient, dOutputs, dValues);
        float norm = GradientStep.Apply(Network, Optimizer, dOutputs, dValues, _maxGradNorm);
        Version++;
        TrainedBatches++;
        LastLoss = r;

        if (Options.UseKlLoss)
        {
            if (r.KlTargetCurrent > 2 * Options.KlTarget) KlCoefficient *= 1.5f;
            else if (r.KlTargetCurrent < 0.5 * Options.KlTarget) KlCoefficient *= 0.5f;
        }
        if (TrainedBatches % Options.TargetUpdatePeriod == 0)
        {
            TargetNetwork.Parameters.CopyFrom(Network.Parameters.Values);
            TargetUpdates++;
            TargetVersion = Version;
        }
        var loss = new LearnerLoss(r.TotalLoss, r.PolicyLoss, r.ValueLoss, r.EntropyLoss, r.Entropy, r.Kl, r.ValidSteps);
        return new LearnerUpdateStats(loss, norm, Version);
    }

    /// <summary>
    /// pi_target's outputs on the batch's T*B step rows: the behaviour outputs the batch carries when every part was
    /// produced by the target's parameters; the online network's own outputs when no update happened since the last copy
    /// (the two networks hold the same parameters then); else computed once per batch and target copy.
    /// </summary>
    private ReadOnlySpan<float> TargetOutputsFor(Trajectory batch, int n, int P, ReadOnlySpan<float> onlineOutputs)
    {
        if (ProducedByTarget(batch))
            return batch.BehaviourPolicy.AsSpan(0, n * P);
        // Right after a copy the queued batches were all acted with the previous target: the first of them needs no pass.
        if (Version == TargetVersion)
            return onlineOutputs[..(n * P)];
        TargetOutputs? slot = null;
        foreach (var entry in _targetCache)
        {
            if (!ReferenceEquals(entry.Batch, batch))
                continue;
            if (entry.TargetUpdate == TargetUpdates)
                return entry.Outputs.AsSpan(0, n * P);
            slot = entry; // the target moved on since: recompute in place
        }
        if (slot is null)
        {
            slot = _targetCache[_nextCacheEntry];
            _nextCacheEntry = (_nextCacheEntry + 1) % _targetCache.Length;
        }
        TargetForwards++;
        Span<float> outputs;
        if (TargetNetwork.CoreStateSize > 0)
        {
            // A recurrent target replays each column from the unroll's recorded state, as the online network does.
            int rows = n + batch.Envs;
            outputs = Scratch.Ensure(ref slot.Outputs, rows * P);
            BatchForward.Run(TargetNetwork, batch, ref _episodeStarts, outputs, Scratch.Ensure(ref _targetValues, rows));
            outputs = outputs[..(n * P)];
        }
        else
        {
            outputs = Scratch.Ensure(ref slot.Outputs, n * P);
            _targetSession.Evaluate(batch.Observations.AsSpan(0, n * batch.ObservationSize), n, outputs, Scratch.Ensure(ref _targetValues, n));
        }
        slot.Batch = batch;
        slot.TargetUpdate = TargetUpdates;
        return outputs;
    }

    private bool ProducedByTarget(Trajectory batch)
    {
        if (batch.Segments.Count == 0)
            return batch.PolicyVersion == TargetVersion;
        foreach (var segment in batch.Segments) // List's struct enumerator: no allocation per update
            if (segment.PolicyVersion != TargetVersion)
                return false;
        return true;
    }
}
