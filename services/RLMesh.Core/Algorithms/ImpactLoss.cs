using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// IMPACT hyper-parameters (Luo et al. 2020, "IMPACT: Importance Weighted Asynchronous Architectures
/// with Clipped Target Networks"; RLlib APPO). Defaults: discount 0.99; circular buffer N = 4 batches,
/// each trained K = 2 times (the paper's discrete-task setting); target network refreshed every
/// TargetUpdateFrequency * N * K = 16 trained batches (RLlib default frequency 2); target-worker clip
/// rho = 2.0 and PPO clip epsilon 0.4 (paper); value cost 0.5 and entropy 0.01 (RLlib APPO);
/// KL loss off, coefficient 1.0 and KL target 0.01 when on (RLlib APPO). V-trace truncation 1 (RLlib).
/// </summary>
public sealed record ImpactOptions
{
    public float Discount { get; init; } = 0.99f;
    /// <summary>N: batches held by the circular buffer (FIFO eviction).</summary>
    public int BufferBatches { get; init; } = 4;
    /// <summary>K: times each batch is trained on at most before it is evicted.</summary>
    public int ReusesPerBatch { get; init; } = 2;
    /// <summary>
    /// Reuse a batch only while no fresh one is waiting (true), or train every batch exactly K times, waiting for
    /// fresh data when all are used up (false: RLlib's MinibatchBuffer). See <see cref="ImpactCircularBuffer"/>.
    /// </summary>
    public bool OpportunisticReuse { get; init; } = true;
    /// <summary>The target network is hard-copied every TargetUpdateFrequency * N * K trained batches.</summary>
    public int TargetUpdateFrequency { get; init; } = 2;
    /// <summary>
    /// Actors act with the target network: the learner offers its weights for publishing only when it copies the target
    /// (every <see cref="TargetUpdatePeriod"/> trained batches) instead of after every update. A batch the target itself
    /// produced then needs no target forward pass (pi_target = mu, stored in the batch), and actors pull a snapshot
    /// once per target copy. Off: actors follow the online network as in the paper and in IMPALA.
    /// </summary>
    public bool ActorsFollowTarget { get; init; }
    /// <summary>rho in min(mu / pi_target, rho): the target-worker clip.</summary>
    public float TargetWorkerClip { get; init; } = 2.0f;
    /// <summary>PPO clip epsilon on the surrogate ratio.</summary>
    public float ClipEpsilon { get; init; } = 0.4f;
    public float ValueCost { get; init; } = 0.5f;
    public float EntropyCost { get; init; } = 0.01f;
    /// <summary>Adds KlCoefficient * mean KL(pi_target || pi) to the loss, with the adaptive coefficient.</summary>
    public bool UseKlLoss { get; init; }
    public float KlCoefficient { get; init; } = 1.0f;
    public float KlTarget { get; init; } = 0.01f;
    public VTraceOptions VTrace { get; init; } = VTraceOptions.Default;
    /// <summary>Rewards are multiplied by this before V-trace (1: unchanged).</summary>
    public float RewardScale { get; init; } = 1f;

    /// <summary>Trained batches between two hard copies of the target network.</summary>
    public int TargetUpdatePeriod => TargetUpdateFrequency * BufferBatches * ReusesPerBatch;
}

/// <summary>IMPACT loss terms; losses are means over valid steps. Kl is KL(behaviour || current).</summary>
public readonly record struct ImpactLossResult(
    double TotalLoss, double PolicyLoss, double ValueLoss, double EntropyLoss, double KlLoss,
    double Entropy, double Kl, double KlTargetCurrent, double ClipFraction, int ValidSteps);

/// <summary>
/// The IMPACT loss and its gradient w.r.t. the online network's outputs. Every term is a MEAN over
/// valid steps (RLlib APPO reduces with a masked mean):
/// <code>
/// vs, A          = V-trace with pi_target as the target policy, behaviour mu, values V of the online net
/// r_t            = min(mu / pi_target, rho) * (pi / mu)          (target-worker clipping)
/// policy loss    = -mean min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t)
/// value loss     = ValueCost * 0.5 * mean (V - vs)^2
/// entropy loss   = -EntropyCost * mean H(pi)
/// kl loss        = klCoefficient * mean KL(pi_target || pi)      (only with UseKlLoss)
/// </code>
/// vs, A, the target policy and the bootstrap value are constants. Invalid (autoreset) steps contribute
/// nothing; termination zeroes the discount; truncation bootstraps from V(obs[t+1]) (as <see cref="ImpalaLoss"/>).
/// </summary>
public sealed class ImpactLoss
{
    private readonly PolicyOps _ops;
    private float[] _logRhos = [], _discounts = [], _rewards = [], _vs = [], _pgAdv = [];
    // log mu(a) and log pi_target(a) per step from pass 1, so pass 2 does not normalize those rows again; and one
    // row of the current policy's log-probabilities and probabilities (categorical heads, see Categorical.Decompose).
    private float[] _logMu = [], _logTarget = [], _rowLogProbs = [], _rowProbs = [];
    private readonly ColumnKl _columnKl = new();
    private int _n;

    public ImpactLoss(ImpactOptions options, PolicySpec policy)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Policy = policy;
        _ops = new PolicyOps(policy);
    }

    public ImpactOptions Options { get; }
    public PolicySpec Policy { get; }

    /// <summary>
    /// Per column b of the last batch: KL(behaviour || current) summed over its valid steps (for APS: one
    /// unroll is a range of columns). Sum over columns / valid steps = <see cref="ImpactLossResult.Kl"/>.
    /// </summary>
    public ReadOnlySpan<double> ColumnKlSums => _columnKl.Sums;
    /// <summary>Per column b of the last batch: valid steps (the denominators of <see cref="ColumnKlSums"/>).</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _columnKl.ValidSteps;

    /// <summary>Test hook: keep the previous call's V-trace outputs (constants of the loss).</summary>
    internal bool FreezeTargets { get; set; }

    /// <param name="policyOutputs">[(T+1)*B, P] online network outputs.</param>
    /// <param name="values">[(T+1)*B] online values; row T bootstraps.</param>
    /// <param name="targetOutputs">[T*B, P] target network outputs on rows 0..T-1.</param>
    /// <param name="klCoefficient">Weight of the KL(pi_target || pi) term (ignored unless UseKlLoss).</param>
    public ImpactLossResult Compute(Trajectory batch, ReadOnlySpan<float> policyOutputs, ReadOnlySpan<float> values,
        ReadOnlySpan<float> targetOutputs, float klCoefficient, Span<float> dPolicyOutputs, Span<float> dValues)
    {
        int T = batch.Steps, B = batch.Envs, n = T * B, P = Policy.OutputSize, A = batch.ActionSize;
        if (batch.PolicyOutputSize != P) throw new ArgumentException("Batch policy width does not match the policy.");
        if (policyOutputs.Length != (n + B) * P || values.Length != n + B || targetOutputs.Length != n * P
            || dPolicyOutputs.Length != (n + B) * P || dValues.Length != n + B)
            throw new ArgumentException("Output spans do not match the batch shape.");
        if (FreezeTargets && _n != n) throw new InvalidOperationException("Frozen targets are from a different shape.");
        _n = n;
        var logRhos = Scratch.Ensure(ref _logRhos, n);
        var discounts = Scratch.Ensure(ref _discounts, n);
        var rewards = Scratch.Ensure(ref _rewards, n);
        var vs = Scratch.Ensure(ref _vs, n);
        var pgAdv = Scratch.Ensure(ref _pgAdv, n);
        var logMus = Scratch.Ensure(ref _logMu, n);
        var logTargets = Scratch.Ensure(ref _logTarget, n);
        var rowLogProbs = Scratch.Ensure(ref _rowLogProbs, P);
        var rowProbs = Scratch.Ensure(ref _rowProbs, P);
        bool categorical = Policy.Kind == PolicyKind.Categorical;
        // The actors acted with the target network (ImpactLearner passes the batch's own behaviour rows): pi_target = mu,
        // so log rho = 0, the target-worker factor is min(1, rho) and KL(pi_target || pi) = KL(mu || pi), each computed once.
        bool targetIsBehaviour = targetOutputs.Overlaps(batch.BehaviourPolicy, out int offset) && offset == 0;

        // V-trace against the TARGET policy: rho = pi_target / mu.
        int valid = 0;
        for (int i = 0; i < n; i++)
        {
            if (!batch.Valid[i])
            {
                logRhos[i] = float.NegativeInfinity; // rho = c = 0: no delta, trace cut (see ImpalaLoss)
                discounts[i] = 0;
                rewards[i] = 0;
                continue;
            }
            valid++;
            var action = batch.Actions.AsSpan(i * A, A);
            logMus[i] = _ops.LogProb(batch.BehaviourPolicy.AsSpan(i * P, P), action);
            logTargets[i] = targetIsBehaviour ? logMus[i] : _ops.LogProb(targetOutputs.Slice(i * P, P), action);
            logRhos[i] = logTargets[i] - logMus[i];
            discounts[i] = batch.Terminated[i] ? 0f : Options.Discount;
            rewards[i] = batch.Rewards[i] * Options.RewardScale;
        }
        if (!FreezeTargets)
            VTrace.Compute(T, B, logRhos, discounts, rewards, values[..n], values.Slice(n, B), Options.VTrace, vs, pgAdv);

        dPolicyOutputs.Clear();
        dValues.Clear();
        _columnKl.Reset(B);
        if (valid == 0) return default;
        double inv = 1.0 / valid;
        double eps = Options.ClipEpsilon, rho = Options.TargetWorkerClip;
        double pgSum = 0, vSum = 0, hSum = 0, klSum = 0, klTargetSum = 0;
        int clipped = 0;
        float entropyScale = (float)(-Options.EntropyCost * inv);
        float klScale = (float)(klCoefficient * inv);
        for (int i = 0; i < n; i++)
        {
            if (!batch.Valid[i]) continue;
            var current = policyOutputs.Slice(i * P, P);
            var target = targetOutputs.Slice(i * P, P);
            var mu = batch.BehaviourPolicy.AsSpan(i * P, P);
            var action = batch.Actions.AsSpan(i * A, A);
            var grad = dPolicyOutputs.Slice(i * P, P);

            double logMu = logMus[i];
            double targetWorker = Math.Min(targetIsBehaviour ? 1.0 : Math.Exp(logMu - logTargets[i]), rho);
            double entropy = categorical ? Categorical.Decompose(current, rowLogProbs, rowProbs) : _ops.Entropy(current);
            double logPi = categorical ? rowLogProbs[(int)action[0]] : _ops.LogProb(current, action);
            double r = targetWorker * Math.Exp(logPi - logMu);
            double adv = pgAdv[i];
            double unclippedTerm = r * adv;
            double clippedTerm = Math.Clamp(r, 1 - eps, 1 + eps) * adv;
            float pgScale = 0;
            if (clippedTerm < unclippedTerm)
            {
                pgSum -= clippedTerm; // flat in r: no gradient
                clipped++;
            }
            else
            {
                pgSum -= unclippedTerm;
                pgScale = (float)(-unclippedTerm * inv); // dr/dlog pi = r
            }
            hSum += entropy;
            double kl, klTarget;
            if (categorical)
            {
                Categorical.AddLogProbAndEntropyGradient(rowLogProbs, rowProbs, entropy, (int)action[0], pgScale, entropyScale, grad);
                kl = Categorical.KlFromLogProbs(mu, rowLogProbs);
                klTarget = targetIsBehaviour ? kl : Categorical.KlFromLogProbs(target, rowLogProbs);
            }
            else
            {
                if (pgScale != 0) _ops.AddLogProbGradient(current, action, pgScale, grad);
                _ops.AddEntropyGradient(current, entropyScale, grad);
                kl = _ops.Kl(mu, current);
                klTarget = targetIsBehaviour ? kl : _ops.Kl(target, current);
            }
            klSum += kl;
            _columnKl.Add(i % B, kl);
            klTargetSum += klTarget;
            if (Options.UseKlLoss) _ops.AddKlGradientWrtQ(target, current, klScale, grad);

            double err = (double)values[i] - vs[i];
            vSum += err * err;
            dValues[i] = (float)(Options.ValueCost * err * inv);
        }

        double policyLoss = pgSum * inv;
        double valueLoss = Options.ValueCost * 0.5 * vSum * inv;
        double entropyLoss = -Options.EntropyCost * hSum * inv;
        double klLoss = Options.UseKlLoss ? klCoefficient * klTargetSum * inv : 0;
        return new ImpactLossResult(policyLoss + valueLoss + entropyLoss + klLoss, policyLoss, valueLoss, entropyLoss, klLoss,
            hSum * inv, klSum * inv, klTargetSum * inv, (double)clipped / valid, valid);
    }
}
