using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// V-MPO hyper-parameters (Song et al. 2019, "V-MPO: On-Policy Maximum a Posteriori Policy Optimization
/// for Discrete and Continuous Control"; rlax <c>mpo_ops.py</c>). Defaults: top half of the advantages
/// (paper); eta0 = 1, alpha0 = 5 (paper, discrete); eps_eta = 0.1 and eps_alpha = 0.01 for discrete tasks
/// (paper: eps_eta 0.1 on DMLab/Atari, eps_alpha in [0.005, 0.01]); for Gaussian policies see
/// <see cref="ContinuousDefaults"/> (eps_alpha_mu = 0.01 is in the paper's [0.005, 0.01]; eps_eta and
/// eps_alpha_sigma depart from it); target network copied every 100 updates (paper). No entropy bonus, no importance weights.
/// Our choices (not from the paper): n-step targets run to the end of the unroll (NSteps null); the duals
/// are log-parameterized (eta = exp(s), always positive) and trained by their own Adam with
/// DualLearningRate 1e-2, because the network's learning rate moves a log-dual far too slowly.
/// </summary>
public sealed record VmpoOptions
{
    public float Discount { get; init; } = 0.99f;
    /// <summary>n of the n-step targets; null: bootstrap from the unroll's last observation (n = T - t).</summary>
    public int? NSteps { get; init; }
    /// <summary>Fraction of the batch's valid steps, highest advantage first, that the E-step keeps.</summary>
    public float TopFraction { get; init; } = 0.5f;
    public float InitialTemperature { get; init; } = 1f;
    public float InitialAlpha { get; init; } = 5f;
    public float EpsilonEta { get; init; } = 0.1f;
    /// <summary>Discrete KL bound (one alpha).</summary>
    public float EpsilonAlpha { get; init; } = 0.01f;
    /// <summary>Gaussian mean KL bound (alpha_mu).</summary>
    public float EpsilonAlphaMu { get; init; } = 0.01f;
    /// <summary>Gaussian covariance KL bound (alpha_sigma).</summary>
    public float EpsilonAlphaSigma { get; init; } = 5e-5f;
    /// <summary>The target network pi_old is a hard copy of the online one every this many updates.</summary>
    public int TargetUpdatePeriod { get; init; } = 100;
    public float ValueCost { get; init; } = 1f;
    public float DualLearningRate { get; init; } = 1e-2f;
    /// <summary>Rewards are multiplied by this before the targets (1: unchanged).</summary>
    public float RewardScale { get; init; } = 1f;

    /// <summary>
    /// Gaussian-policy defaults: eps_eta 0.1 and eps_alpha_sigma 1e-3. The paper's continuous-control values
    /// (eps_eta 0.01, eps_alpha_sigma 5e-6 to 5e-5) assume ~1e5+ updates; with our ~3e3 updates in 2 M frames
    /// they kept psi nearly uniform (eta ~ 10) and the std near its initial 1, and Pendulum stalled near -800.
    /// DualLearningRate 3e-3: at 1e-2 alpha_mu once ran from 2 to 600 within ~300 updates after a KL spike
    /// and Pendulum collapsed from -250 to -540.
    /// </summary>
    public static VmpoOptions ContinuousDefaults => new() { EpsilonEta = 0.1f, EpsilonAlphaSigma = 1e-3f, DualLearningRate = 3e-3f };
}

/// <summary>
/// V-MPO loss terms. PolicyLoss = -sum_top psi log pi (psi sums to 1, so a weighted mean); ValueLoss and
/// the KLs are means over valid steps. Kl is KL(behaviour || current); KlMu/KlSigma are the decoupled
/// KL(pi_old || pi) terms (Gaussian; for a categorical policy KlMu holds the one KL and KlSigma is 0).
/// DEta, DAlpha, DAlphaSigma: derivatives of the total loss w.r.t. eta, alpha (alpha_mu) and alpha_sigma.
/// NetworkLoss = PolicyLoss + ValueLoss + sg[alpha] KL (+ sg[alpha_sigma] KL_sigma): the function whose gradient
/// the network receives. AlphaLoss = alpha (eps_alpha - sg[KL]) (summed over the multipliers): the duals' part.
/// TotalLoss = NetworkLoss + TemperatureLoss + AlphaLoss.
/// </summary>
public readonly record struct VmpoLossResult(
    double TotalLoss, double NetworkLoss, double PolicyLoss, double ValueLoss, double TemperatureLoss, double AlphaLoss,
    double Entropy, double Kl, double KlMu, double KlSigma, int ValidSteps, int Selected,
    double DEta, double DAlpha, double DAlphaSigma);

/// <summary>
/// The V-MPO loss and its gradients, w.r.t. the online network's outputs and w.r.t. the duals:
/// <code>
/// G_t     = sum_{k&lt;n} gamma^k r_{t+k} + gamma^n V(s_{t+n});   A = G - V   (constants)
/// top     = the ceil(TopFraction * valid) valid steps with the largest A
/// psi     = softmax over top of A / eta   (constant)
/// L_pi    = -sum_top psi log pi(a|s)
/// L_V     = ValueCost * 0.5 * mean_valid (V - G)^2
/// L_eta   = eta * eps_eta + eta * log(mean_top exp(A / eta))
/// L_alpha = alpha * (eps_alpha - sg[KL]) + sg[alpha] * KL,  KL = mean_valid KL(pi_old || pi)
///           Gaussian: one such term per decoupled KL (mean: alpha_mu, KL_mu; covariance: alpha_sigma, KL_sigma)
/// </code>
/// Termination zeroes the discount, truncation bootstraps from V(obs[t+1]) (the final observation), and
/// invalid (autoreset) steps are neither selected nor counted nor crossed by a return.
/// </summary>
public sealed class VmpoLoss
{
    private readonly PolicyOps _ops;
    private float[] _targets = [], _advantages = [], _psi = [];
    private float[] _chosen = [], _keys = [];
    private int[] _order = [];
    private readonly ColumnKl _columnKl = new();
    private int _n;

    public VmpoLoss(VmpoOptions options, PolicySpec policy)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.TopFraction > 0 && options.TopFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(options), "TopFraction must be in (0, 1].");
        Options = options;
        Policy = policy;
        _ops = new PolicyOps(policy);
    }

    public VmpoOptions Options { get; }
    public PolicySpec Policy { get; }
    /// <summary>Test hook: keep the previous call's targets G and advantages A (constants of the loss).</summary>
    internal bool FreezeTargets { get; set; }

    /// <summary>
    /// Per column b of the last batch: KL(behaviour || current) summed over its valid steps (for APS: one
    /// unroll is a range of columns). Sum over columns / valid steps = <see cref="VmpoLossResult.Kl"/>.
    /// </summary>
    public ReadOnlySpan<double> ColumnKlSums => _columnKl.Sums;
    /// <summary>Per column b of the last batch: valid steps (the denominators of <see cref="ColumnKlSums"/>).</summary>
    public ReadOnlySpan<int> ColumnValidSteps => _columnKl.ValidSteps;

    /// <summary>n-step targets [T*B] (see the class summary); values has T+1 rows, invalid steps get G = V.</summary>
    public static void NStepTargets(Trajectory batch, ReadOnlySpan<float> values, float discount, int? nSteps, float rewardScale, Span<float> targets)
    {
        int T = batch.Steps, B = batch.Envs;
        int n = nSteps ?? T;
        for (int t = 0; t < T; t++)
        {
            for (int b = 0; b < B; b++)
            {
                int i = t * B + b;
                if (!batch.Valid[i]) { targets[i] = values[i]; continue; }
                double g = 0, scale = 1;
                for (int k = 0; ; k++)
                {
                    int j = (t + k) * B + b;
                    g += scale * batch.Rewards[j] * rewardScale;
                    if (batch.Terminated[j]) break;               // no bootstrap
                    scale *= discount;
                    // Truncation: bootstrap from row t+k+1, the episode's final observation; also at n or the unroll's end.
                    if (batch.Truncated[j] || k + 1 == n || t + k + 1 == T)
                    {
                        g += scale * values[j + B];
                        break;
                    }
                }
                targets[i] = (float)g;
            }
        }
    }

    /// <summary>
    /// E-step weights: psi over the top ceil(fraction * valid) valid advantages (others 0). Returns how many
    /// were selected. Ties at the cut are broken by index (lower first).
    /// </summary>
    public static int TopKWeights(ReadOnlySpan<float> advantages, ReadOnlySpan<bool> valid, double fraction, double eta, Span<float> psi)
    {
        int[] order = [];
        float[] keys = [];
        return TopKWeights(advantages, valid, fraction, eta, psi, ref order, ref keys);
    }

    private static int TopKWeights(ReadOnlySpan<float> advantages, ReadOnlySpan<bool> valid, double fraction, double eta, Span<float> psi,
        ref int[] orderBuffer, ref float[] keyBuffer)
    {
        int count = 0;
        var order = Scratch.Ensure(ref orderBuffer, advantages.Length);
        for (int i = 0; i < advantages.Length; i++) if (valid[i]) order[count++] = i;
        psi.Clear();
        if (count == 0) return 0;
        order = order[..count];
        var adv = advantages;
        // Descending advantage, ties by index: sort by -A, then each run of equal keys by index (no allocation).
        var keys = Scratch.Ensure(ref keyBuffer, count);
        for (int j = 0; j < count; j++) keys[j] = -adv[order[j]];
        keys.Sort(order);
        for (int start = 0, end; start < count; start = end)
        {
            for (end = start + 1; end < count && keys[end] == keys[start]; end++) { }
            if (end - start > 1) order[start..end].Sort();
        }
        int k = Math.Max(1, (int)Math.Ceiling(fraction * count - 1e-9));
        double max = adv[order[0]] / eta, sum = 0;
        for (int j = 0; j < k; j++) sum += Math.Exp(adv[order[j]] / eta - max);
        for (int j = 0; j < k; j++) psi[order[j]] = (float)(Math.Exp(adv[order[j]] / eta - max) / sum);
        return k;
    }

    /// <summary>
    /// L_eta = eta * eps_eta + eta * log(mean exp(A / eta)) over the selected advantages, computed with the
    /// max subtracted; dL/deta = eps_eta + log(mean exp(A / eta)) - sum psi A / eta.
    /// </summary>
    public static (double Loss, double DEta) TemperatureLoss(ReadOnlySpan<float> selected, double eta, double epsEta)
    {
        double max = double.NegativeInfinity;
        foreach (float a in selected) max = Math.Max(max, a / eta);
        double sum = 0, weighted = 0;
        foreach (float a in selected)
        {
            double e = Math.Exp(a / eta - max);
            sum += e;
            weighted += e * a;
        }
        double logMeanExp = max + Math.Log(sum / selected.Length);
        return (eta * epsEta + eta * logMeanExp, epsEta + logMeanExp - weighted / sum / eta);
    }

    /// <summary>
    /// The duals' half of L_alpha = alpha (eps - sg[KL]) + sg[alpha] KL: returns alpha (eps - KL) and
    /// dL/dalpha = eps - KL. (The other half, sg[alpha] KL, is the network's: gradient alpha dKL.)
    /// </summary>
    public static (double Loss, double DAlpha) AlphaLoss(double alpha, double epsAlpha, double kl) =>
        (alpha * (epsAlpha - kl), epsAlpha - kl);

    /// <summary>
    /// Decoupled KLs of diagonal Gaussians (old = pi_old): KL_mu = 0.5 sum (mu - mu_old)^2 / sigma_old^2;
    /// KL_sigma = 0.5 sum [sigma_old^2 / sigma^2 - 1 + 2 (log sigma - log sigma_old)].
    /// </summary>
    public static (double KlMu, double KlSigma) DecoupledGaussianKl(ReadOnlySpan<float> oldMean, ReadOnlySpan<float> oldLogStd,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd)
    {
        double klMu = 0, klSigma = 0;
        for (int d = 0; d < mean.Length; d++)
        {
            double diff = (double)mean[d] - oldMean[d];
            double invOldVar = Math.Exp(-2.0 * oldLogStd[d]);
            klMu += 0.5 * diff * diff * invOldVar;
            double varRatio = Math.Exp(2.0 * ((double)oldLogStd[d] - logStd[d])); // sigma_old^2 / sigma^2
            klSigma += 0.5 * (varRatio - 1 + 2.0 * ((double)logStd[d] - oldLogStd[d]));
        }
        return (klMu, klSigma);
    }

    /// <param name="policyOutputs">[(T+1)*B, P] online outputs.</param>
    /// <param name="values">[(T+1)*B] online values; row T bootstraps.</param>
    /// <param name="oldOutputs">[T*B, P] target network (pi_old) outputs.</param>
    /// <param name="alphaSigma">Ignored for a categorical policy.</param>
    public VmpoLossResult Compute(Trajectory batch, ReadOnlySpan<float> policyOutputs, ReadOnlySpan<float> values,
        ReadOnlySpan<float> oldOutputs, double eta, double alpha, double alphaSigma,
        Span<float> dPolicyOutputs, Span<float> dValues)
    {
        int T = batch.Steps, B = batch.Envs, n = T * B, P = Policy.OutputSize, A = batch.ActionSize;
        if (batch.PolicyOutputSize != P) throw new ArgumentException("Batch policy width does not match the policy.");
        if (policyOutputs.Length != (n + B) * P || values.Length != n + B || oldOutputs.Length != n * P
            || dPolicyOutputs.Length != (n + B) * P || dValues.Length != n + B)
            throw new ArgumentException("Output spans do not match the batch shape.");
        if (FreezeTargets && _n != n) throw new InvalidOperationException("Frozen targets are from a different shape.");
        _n = n;
        var o = Options;
        var targets = Scratch.Ensure(ref _targets, n);
        var advantages = Scratch.Ensure(ref _advantages, n);
        var psi = Scratch.Ensure(ref _psi, n);
        if (!FreezeTargets)
        {
            NStepTargets(batch, values, o.Discount, o.NSteps, o.RewardScale, targets);
            for (int i = 0; i < n; i++) advantages[i] = targets[i] - values[i];
        }

        dPolicyOutputs.Clear();
        dValues.Clear();
        _columnKl.Reset(B);
        int selected = TopKWeights(advantages, batch.Valid, o.TopFraction, eta, psi, ref _order, ref _keys);
        if (selected == 0) return default;

        // Temperature: over the selected advantages only.
        var chosen = Scratch.Ensure(ref _chosen, selected);
        for (int j = 0; j < selected; j++) chosen[j] = advantages[_order[j]]; // TopKWeights left them first in _order
        var (temperatureLoss, dEta) = TemperatureLoss(chosen, eta, o.EpsilonEta);

        bool categorical = Policy.Kind == PolicyKind.Categorical;
        int D = Policy.Size;
        int valid = 0;
        for (int i = 0; i < n; i++) if (batch.Valid[i]) valid++;
        double inv = 1.0 / valid;
        double policySum = 0, vSum = 0, hSum = 0, klSum = 0, klMuSum = 0, klSigmaSum = 0;
        for (int i = 0; i < n; i++)
        {
            if (!batch.Valid[i]) continue;
            var current = policyOutputs.Slice(i * P, P);
            var old = oldOutputs.Slice(i * P, P);
            var mu = batch.BehaviourPolicy.AsSpan(i * P, P);
            var action = batch.Actions.AsSpan(i * A, A);
            var grad = dPolicyOutputs.Slice(i * P, P);

            if (psi[i] > 0)
            {
                policySum -= psi[i] * _ops.LogProb(current, action);
                _ops.AddLogProbGradient(current, action, -psi[i], grad);
            }
            hSum += _ops.Entropy(current);
            double kl = _ops.Kl(mu, current);
            klSum += kl;
            _columnKl.Add(i % B, kl);

            // Trust region: d(sg[alpha] * KL)/d outputs.
            if (categorical)
            {
                klMuSum += Categorical.Kl(old, current);
                Categorical.AddKlGradientWrtQ(old, current, (float)(alpha * inv), grad);
            }
            else
            {
                var (klMu, klSigma) = DecoupledGaussianKl(old[..D], old[D..], current[..D], current[D..]);
                klMuSum += klMu;
                klSigmaSum += klSigma;
                for (int d = 0; d < D; d++)
                {
                    double invOldVar = Math.Exp(-2.0 * old[D + d]);
                    grad[d] += (float)(alpha * inv * ((double)current[d] - old[d]) * invOldVar);
                    double varRatio = Math.Exp(2.0 * ((double)old[D + d] - current[D + d]));
                    grad[D + d] += (float)(alphaSigma * inv * (1 - varRatio));
                }
            }

            double err = (double)values[i] - targets[i];
            vSum += err * err;
            dValues[i] = (float)(o.ValueCost * err * inv);
        }

        double klMuMean = klMuSum * inv, klSigmaMean = klSigmaSum * inv;
        double epsMu = categorical ? o.EpsilonAlpha : o.EpsilonAlphaMu;
        var (alphaLoss, dAlpha) = AlphaLoss(alpha, epsMu, klMuMean);
        double dAlphaSigma = 0;
        if (!categorical)
        {
            var (sigmaLoss, dSigma) = AlphaLoss(alphaSigma, o.EpsilonAlphaSigma, klSigmaMean);
            alphaLoss += sigmaLoss;
            dAlphaSigma = dSigma;
        }
        double valueLoss = o.ValueCost * 0.5 * vSum * inv;
        double networkLoss = policySum + valueLoss + alpha * klMuMean + (categorical ? 0 : alphaSigma * klSigmaMean);
        return new VmpoLossResult(networkLoss + temperatureLoss + alphaLoss, networkLoss, policySum, valueLoss, temperatureLoss, alphaLoss,
            hSum * inv, klSum * inv, klMuMean, klSigmaMean, valid, selected, dEta, dAlpha, dAlphaSigma);
    }
}
