using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>How raw rewards are transformed before V-trace.</summary>
public enum RewardClipping
{
    /// <summary>Rewards are used as the environment gives them.</summary>
    None,
    /// <summary>clamp(r, -1, 1), TorchBeast's "abs_one" (an Atari convention).</summary>
    AbsOne,
}

/// <summary>How per-step loss terms are reduced over the batch.</summary>
public enum LossReduction
{
    /// <summary>Sum over valid steps, as TorchBeast does; learning rates and the grad-norm clip of 40 are tuned for it.</summary>
    Sum,
    /// <summary>Sum divided by the number of valid steps (not T * B), making the scale independent of the batch size.</summary>
    Mean,
}

/// <summary>
/// IMPALA learner hyper-parameters. Defaults: Discount 0.99, BaselineCost 0.5 (IMPALA paper and
/// TorchBeast); EntropyCost 0.01, the value that solved CartPole with MonoBeast here (TorchBeast's own
/// default, tuned for Atari, is 6e-4); V-trace truncation levels 1.
/// RewardClipping defaults to <see cref="RewardClipping.None"/>: TorchBeast clips to [-1, 1] for Atari, but
/// that changes nothing on CartPole or the Zipfian tasks (rewards already in [0, 1]) and destroys the
/// reward shape on Pendulum (per-step rewards down to about -16) and MountainCarContinuous (+100 goal).
/// Reduction defaults to <see cref="LossReduction.Sum"/> so the known-good TorchBeast/MonoBeast settings
/// (learning rates, RMSprop eps 0.01, grad-norm clip 40, all tuned against summed losses) carry over.
/// </summary>
public sealed record ImpalaOptions
{
    public float Discount { get; init; } = 0.99f;
    public float BaselineCost { get; init; } = 0.5f;
    public float EntropyCost { get; init; } = 0.01f;
    public RewardClipping RewardClipping { get; init; } = RewardClipping.None;
    /// <summary>
    /// Rewards are multiplied by this before clipping and V-trace. Keeps value targets near unit scale for tasks
    /// whose returns are in the hundreds (CartPole, Acrobot), so early value errors do not swamp the policy
    /// gradient through the shared torso and the global-norm clip.
    /// </summary>
    public float RewardScale { get; init; } = 1f;
    public VTraceOptions VTrace { get; init; } = VTraceOptions.Default;
    public LossReduction Reduction { get; init; } = LossReduction.Sum;
}

/// <summary>
/// Loss terms for one batch. The losses follow <see cref="ImpalaOptions.Reduction"/>; Entropy and Kl are
/// always means over valid steps. Kl is KL(behaviour || current), the policy lag the batch carries.
/// </summary>
public readonly record struct ImpalaLossResult(
    double TotalLoss, double PolicyLoss, double BaselineLoss, double EntropyLoss,
    double Entropy, double Kl, int ValidSteps);

/// <summary>
/// The IMPALA loss and its gradient w.r.t. the network outputs. Holds scratch buffers sized to the
/// largest batch seen, so it allocates only when the batch grows; one instance per learner thread.
/// <para>
/// pg loss = -sum_valid log pi(a_t) * pgAdv_t; baseline loss = BaselineCost * 0.5 * sum_valid (vs_t - V_t)^2;
/// entropy loss = -EntropyCost * sum_valid H_t. vs and pgAdv (V-trace) are constants, as is the
/// bootstrap value, so the bootstrap rows get zero gradient.
/// </para>
/// </summary>
public sealed class ImpalaLoss
{
    private readonly ImpalaOptions _options;
    private float[] _logRhos = [], _discounts = [], _rewards = [], _vs = [], _pgAdv = [];
    // Categorical heads: the current policy's log-probabilities, probabilities [T*B, P] and entropy [T*B] from pass 1,
    // so pass 2's loss terms and gradients need no exponentials of their own.
    private float[] _logProbs = [], _probs = [], _entropies = [];
    private double[] _columnKl = [];
    private int[] _columnValid = [];
    private int _n, _b;

    public ImpalaLoss(ImpalaOptions options, PolicySpec policy)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(policy.Size, 1);
        if (!(options.Discount >= 0 && options.Discount <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), "Discount must be in [0, 1].");
        _options = options;
        Policy = policy;
    }

    public ImpalaOptions Options => _options;
    public PolicySpec Policy { get; }

    /// <summary>V-trace targets vs [T, B] from the last <see cref="Compute"/>.</summary>
    public ReadOnlySpan<float> Targets => _vs.AsSpan(0, _n);

    /// <summary>Policy-gradient advantages [T, B] from the last <see cref="Compute"/> (0 on invalid steps).</summary>
    public ReadOnlySpan<float> Advantages => _pgAdv.AsSpan(0, _n);

    /// <summary>
    /// Per column b of the last batch: the sum of KL(behaviour || current) over its valid steps. A batch is
    /// several unrolls side by side along B, so summing a column range gives one unroll's (one runner's) KL:
    /// the divergence APS publishes per runner (see Sync/DivergenceTracker).
    /// </summary>
    public ReadOnlySpan<double> ColumnKlSums => _columnKl.AsSpan(0, _b);

    /// <summary>Per column b of the last batch: the number of valid steps (the denominators of <see cref="ColumnKlSums"/>).</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _columnValid.AsSpan(0, _b);

    /// <summary>
    /// Test hook: reuse the previous call's vs and pgAdv instead of recomputing them, so a finite
    /// difference of TotalLoss sees them as the constants the analytic gradient treats them as.
    /// </summary>
    internal bool FreezeTargets { get; set; }

    /// <summary>
    /// Computes the loss for <paramref name="batch"/> and writes d TotalLoss / d outputs.
    /// </summary>
    /// <param name="policyOutputs">[(T+1)*B, P] from the current network on all T+1 observation rows.</param>
    /// <param name="values">[(T+1)*B] from the current network; row T is the bootstrap value.</param>
    /// <param name="dPolicyOutputs">Overwritten with the gradient, same shape as policyOutputs.</param>
    /// <param name="dValues">Overwritten with the gradient, same shape as values.</param>
    public ImpalaLossResult Compute(Trajectory batch, ReadOnlySpan<float> policyOutputs, ReadOnlySpan<float> values,
        Span<float> dPolicyOutputs, Span<float> dValues)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int T = batch.Steps, B = batch.Envs, n = T * B;
        int P = Policy.OutputSize;
        if (batch.PolicyOutputSize != P || batch.ActionSize != Policy.ActionSize)
            throw new ArgumentException($"Batch shapes (policy {batch.PolicyOutputSize}, action {batch.ActionSize}) do not match {Policy}.");
        ExpectLength(policyOutputs.Length, (n + B) * P, nameof(policyOutputs));
        ExpectLength(values.Length, n + B, nameof(values));
        ExpectLength(dPolicyOutputs.Length, (n + B) * P, nameof(dPolicyOutputs));
        ExpectLength(dValues.Length, n + B, nameof(dValues));

        if (FreezeTargets && _n != n) throw new InvalidOperationException("Frozen targets are from a different shape.");
        EnsureCapacity(n);
        EnsureColumnCapacity(B);
        _n = n;
        _b = B;
        var columnKl = _columnKl.AsSpan(0, B);
        var columnValid = _columnValid.AsSpan(0, B);
        columnKl.Clear();
        columnValid.Clear();
        var logRhos = _logRhos.AsSpan(0, n);
        var discounts = _discounts.AsSpan(0, n);
        var rewards = _rewards.AsSpan(0, n);
        var vs = _vs.AsSpan(0, n);
        var pgAdv = _pgAdv.AsSpan(0, n);
        bool categorical = Policy.Kind == PolicyKind.Categorical;
        int D = Policy.Size;
        int A = batch.ActionSize;

        // Pass 1: per-step inputs of V-trace, plus entropy and KL diagnostics.
        int valid = 0;
        double entropySum = 0, klSum = 0;
        for (int i = 0, column = 0; i < n; i++, column = column + 1 == B ? 0 : column + 1)
        {
            if (!batch.Valid[i])
            {
                // Next-step autoreset step: not a transition. rho = c = 0 (log-rho -inf) makes its delta 0,
                // hence vs = V there and pgAdv = 0, and cuts the trace so nothing after the reset leaks
                // into the previous episode. Its discount is 0 too. The step before it (truncated or
                // terminated) looks at row t+1 = the episode's final observation: a truncated step keeps
                // its discount and bootstraps from V(final obs) through both delta and vs_{t+1} = V_{t+1};
                // a terminated step has discount 0 and does not bootstrap at all.
                logRhos[i] = float.NegativeInfinity;
                discounts[i] = 0;
                rewards[i] = 0;
                continue;
            }
            valid++;
            var current = policyOutputs.Slice(i * P, P);
            var behaviour = batch.BehaviourPolicy.AsSpan(i * P, P);
            var action = batch.Actions.AsSpan(i * A, A);
            float logPi, logMu;
            if (categorical)
            {
                int a = (int)action[0];
                Categorical.CheckAction(a, P);
                var logProbs = _logProbs.AsSpan(i * P, P);
                double entropy = Categorical.Decompose(current, logProbs, _probs.AsSpan(i * P, P));
                _entropies[i] = (float)entropy;
                logPi = logProbs[a];
                logMu = Categorical.LogProb(behaviour, a);
                entropySum += entropy;
                float kl = Categorical.KlFromLogProbs(behaviour, logProbs);
                klSum += kl;
                columnKl[column] += kl;
            }
            else
            {
                logPi = DiagonalGaussian.LogProb(current[..D], current[D..], action);
                logMu = DiagonalGaussian.LogProb(behaviour[..D], behaviour[D..], action);
                entropySum += DiagonalGaussian.Entropy(current[D..]);
                float kl = DiagonalGaussian.Kl(behaviour[..D], behaviour[D..], current[..D], current[D..]);
                klSum += kl;
                columnKl[column] += kl;
            }
            columnValid[column]++;
            logRhos[i] = logPi - logMu;
            // Truncation (time limit) keeps the discount: bootstrap from V(obs[t+1]), the final observation.
            discounts[i] = batch.Terminated[i] ? 0f : _options.Discount;
            float r = batch.Rewards[i] * _options.RewardScale;
            rewards[i] = _options.RewardClipping == RewardClipping.AbsOne ? Math.Clamp(r, -1f, 1f) : r;
        }

        if (!FreezeTargets)
        {
            VTrace.Compute(T, B, logRhos, discounts, rewards, values[..n], values.Slice(n, B), _options.VTrace, vs, pgAdv);
        }

        // Pass 2: losses and gradients. Invalid steps and the bootstrap rows contribute nothing.
        dPolicyOutputs.Clear();
        dValues.Clear();
        double scale = _options.Reduction == LossReduction.Mean && valid > 0 ? 1.0 / valid : 1.0;
        double pgSum = 0, baselineSum = 0, entropyTermSum = 0;
        float entropyGradScale = (float)(-_options.EntropyCost * scale);
        for (int i = 0; i < n; i++)
        {
            if (!batch.Valid[i]) continue;
            var current = policyOutputs.Slice(i * P, P);
            var dCurrent = dPolicyOutputs.Slice(i * P, P);
            var action = batch.Actions.AsSpan(i * A, A);
            double adv = pgAdv[i];
            float pgGradScale = (float)(-adv * scale);
            if (categorical)
            {
                int a = (int)action[0];
                var logProbs = _logProbs.AsSpan(i * P, P);
                var probs = _probs.AsSpan(i * P, P);
                double entropy = _entropies[i];
                pgSum -= logProbs[a] * adv;
                entropyTermSum += entropy;
                Categorical.AddLogProbAndEntropyGradient(logProbs, probs, entropy, a, pgGradScale, entropyGradScale, dCurrent);
            }
            else
            {
                pgSum -= DiagonalGaussian.LogProb(current[..D], current[D..], action) * adv;
                entropyTermSum += DiagonalGaussian.Entropy(current[D..]);
                DiagonalGaussian.AddLogProbGradient(current[..D], current[D..], action, pgGradScale, dCurrent[..D], dCurrent[D..]);
                DiagonalGaussian.AddEntropyGradient(current[D..], entropyGradScale, dCurrent[D..]);
            }
            double err = (double)values[i] - vs[i];
            baselineSum += err * err;
            dValues[i] = (float)(_options.BaselineCost * err * scale);
        }

        double policyLoss = pgSum * scale;
        double baselineLoss = _options.BaselineCost * 0.5 * baselineSum * scale;
        double entropyLoss = -_options.EntropyCost * entropyTermSum * scale;
        double denom = Math.Max(valid, 1);
        return new ImpalaLossResult(
            TotalLoss: policyLoss + baselineLoss + entropyLoss,
            PolicyLoss: policyLoss,
            BaselineLoss: baselineLoss,
            EntropyLoss: entropyLoss,
            Entropy: entropySum / denom,
            Kl: klSum / denom,
            ValidSteps: valid);
    }

    private void EnsureCapacity(int n)
    {
        if (_logRhos.Length >= n) return;
        if (FreezeTargets) throw new InvalidOperationException("Cannot grow buffers while targets are frozen.");
        _logRhos = new float[n];
        _discounts = new float[n];
        _rewards = new float[n];
        _vs = new float[n];
        _pgAdv = new float[n];
        if (Policy.Kind == PolicyKind.Categorical)
        {
            _logProbs = new float[n * Policy.OutputSize];
            _probs = new float[n * Policy.OutputSize];
            _entropies = new float[n];
        }
    }

    private void EnsureColumnCapacity(int b)
    {
        if (_columnKl.Length >= b) return;
        _columnKl = new double[b];
        _columnValid = new int[b];
    }

    private static void ExpectLength(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"Expected length {expected}, got {actual}.", name);
    }
}
