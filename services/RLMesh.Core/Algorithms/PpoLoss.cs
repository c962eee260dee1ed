using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// PPO hyper-parameters (Schulman et al. 2017). Defaults are CleanRL's <c>ppo.py</c> /
/// <c>ppo_continuous_action.py</c> ones (themselves the paper's and openai/baselines'): clip 0.2,
/// GAE lambda 0.95, discount 0.99, value cost 0.5, entropy 0.01, 4 minibatches, 10 epochs (see Epochs),
/// advantage normalization per minibatch; value clipping is available but off (see ClipValueLoss). The learning rate, its annealing, Adam and
/// the grad-norm clip of 0.5 live in TrainingOptions (see <c>AlgorithmDefaults</c>).
/// </summary>
public sealed record PpoOptions
{
    /// <summary>gamma. 0.99 (CleanRL); Pendulum uses 0.95 (its reward is dense and its horizon short).</summary>
    public float Discount { get; init; } = 0.99f;
    /// <summary>GAE lambda, 0.95 (Schulman et al. 2016; CleanRL).</summary>
    public float GaeLambda { get; init; } = 0.95f;
    /// <summary>Surrogate clip epsilon, 0.2 (PPO paper; CleanRL).</summary>
    public float ClipEpsilon { get; init; } = 0.2f;
    /// <summary>
    /// Clip the value prediction to V_old +- ValueClipEpsilon (CleanRL's clip_vloss). Off by default: with
    /// unnormalized returns (CartPole's reach ~100) a 0.2 clip lets the critic move 0.2 per batch, and
    /// Andrychowicz et al. 2021 ("What matters in on-policy RL") found value clipping does not help.
    /// </summary>
    public bool ClipValueLoss { get; init; }
    /// <summary>0.2, CleanRL reuses the surrogate's clip coefficient.</summary>
    public float ValueClipEpsilon { get; init; } = 0.2f;
    /// <summary>vf_coef 0.5 (CleanRL).</summary>
    public float ValueCost { get; init; } = 0.5f;
    /// <summary>ent_coef 0.01 for discrete tasks (CleanRL ppo.py); 0 for Gaussian (ppo_continuous_action.py).</summary>
    public float EntropyCost { get; init; } = 0.01f;
    /// <summary>
    /// 10, the PPO paper's MuJoCo setting and Stable-Baselines3's default (CleanRL's ppo.py uses 4, with which our
    /// CartPole runs plateaued: docs/benchmarks.md#ppo-epochs).
    /// </summary>
    public int Epochs { get; init; } = 10;
    /// <summary>num_minibatches 4 (CleanRL).</summary>
    public int Minibatches { get; init; } = 4;
    /// <summary>Normalize advantages to zero mean, unit std per minibatch (CleanRL norm_adv).</summary>
    public bool NormalizeAdvantages { get; init; } = true;
    /// <summary>Rewards are multiplied by this before GAE (1: unchanged). Pendulum uses 0.1 so returns are O(10).</summary>
    public float RewardScale { get; init; } = 1f;
}

/// <summary>Loss terms of one PPO minibatch (all means over the minibatch).</summary>
public readonly record struct PpoLossResult(
    double TotalLoss, double PolicyLoss, double ValueLoss, double EntropyLoss,
    double Entropy, double Kl, double ClipFraction, int Samples);

/// <summary>
/// PPO's pieces: GAE over a [T, B] batch, and the clipped-surrogate loss over a minibatch of samples
/// with its gradient w.r.t. the network outputs. All loss terms are MEANS over the minibatch:
/// <code>
/// ratio    = pi(a|s) / mu(a|s)                       (mu: the behaviour policy stored in the batch)
/// policy   = -mean min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)
/// value    = ValueCost * 0.5 * mean max((V - R)^2, (V_old + clip(V - V_old, -eps_v, eps_v) - R)^2)
/// entropy  = -EntropyCost * mean H(pi)
/// </code>
/// A (normalized per minibatch when enabled) and R = A_gae + V_old are constants.
/// </summary>
public sealed class PpoLoss(PpoOptions options, PolicySpec policy)
{
    private readonly PolicyOps _ops = new(policy);

    public PpoOptions Options { get; } = options;
    public PolicySpec Policy { get; } = policy;

    /// <summary>
    /// Generalized advantage estimation, backwards over each column:
    /// delta_t = r_t + gamma_t V(x_{t+1}) - V(x_t); A_t = delta_t + gamma_t * lambda * A_{t+1}.
    /// gamma_t is 0 at termination, so nothing is bootstrapped; at truncation it stays gamma and V(x_{t+1})
    /// is the value of the episode's final observation (row t+1). Invalid (autoreset) steps get A = 0
    /// and cut the recursion. returns = A + V (the value targets).
    /// </summary>
    /// <param name="values">[(T+1)*B] old values; row T bootstraps.</param>
    public static void Gae(Trajectory batch, ReadOnlySpan<float> values, float discount, float lambda, float rewardScale,
        Span<float> advantages, Span<float> returns)
    {
        int T = batch.Steps, B = batch.Envs;
        for (int b = 0; b < B; b++)
        {
            double next = 0; // A_{t+1}
            for (int t = T - 1; t >= 0; t--)
            {
                int i = t * B + b;
                if (!batch.Valid[i])
                {
                    advantages[i] = 0;
                    returns[i] = values[i];
                    next = 0;
                    continue;
                }
                double gamma = batch.Terminated[i] ? 0 : discount;
                // An episode end inside the unroll is followed by an invalid step (next = 0 there), so the
                // trace never crosses into the next episode; at the unroll's end it continues from row T.
                double delta = batch.Rewards[i] * rewardScale + gamma * values[i + B] - values[i];
                next = delta + gamma * lambda * next;
                advantages[i] = (float)next;
                returns[i] = (float)(next + values[i]);
            }
        }
    }

    /// <summary>
    /// Loss over m samples and its gradient. Per-sample rows: outputs/behaviour [m, P], actions [m, A],
    /// values/advantages/returns/oldValues [m]. Overwrites dOutputs [m, P] and dValues [m].
    /// </summary>
    public PpoLossResult Compute(int m, ReadOnlySpan<float> outputs, ReadOnlySpan<float> values,
        ReadOnlySpan<float> behaviour, ReadOnlySpan<float> actions, ReadOnlySpan<float> advantages,
        ReadOnlySpan<float> returns, ReadOnlySpan<float> oldValues, Span<float> dOutputs, Span<float> dValues)
    {
        int P = Policy.OutputSize, A = Policy.ActionSize;
        dOutputs[..(m * P)].Clear();
        dValues[..m].Clear();
        if (m == 0) return default;

        double advMean = 0, advStd = 1;
        if (Options.NormalizeAdvantages && m > 1)
        {
            for (int i = 0; i < m; i++) advMean += advantages[i];
            advMean /= m;
            double var = 0;
            for (int i = 0; i < m; i++) var += (advantages[i] - advMean) * (advantages[i] - advMean);
            advStd = Math.Sqrt(var / (m - 1)) + 1e-8; // torch's std is unbiased; CleanRL adds 1e-8
        }

        double eps = Options.ClipEpsilon, epsV = Options.ValueClipEpsilon;
        double inv = 1.0 / m;
        double pgSum = 0, vSum = 0, hSum = 0, klSum = 0;
        int clipped = 0;
        float entropyScale = (float)(-Options.EntropyCost * inv);
        for (int i = 0; i < m; i++)
        {
            var current = outputs.Slice(i * P, P);
            var mu = behaviour.Slice(i * P, P);
            var action = actions.Slice(i * A, A);
            var grad = dOutputs.Slice(i * P, P);
            double adv = Options.NormalizeAdvantages && m > 1 ? (advantages[i] - advMean) / advStd : advantages[i];

            double ratio = Math.Exp((double)_ops.LogProb(current, action) - _ops.LogProb(mu, action));
            double unclipped = ratio * adv;
            double clippedTerm = Math.Clamp(ratio, 1 - eps, 1 + eps) * adv;
            // min(unclipped, clipped): when the clipped term is strictly smaller the objective is flat in
            // ratio (the ratio is outside [1-eps, 1+eps] in the direction A favours): zero gradient.
            if (clippedTerm < unclipped)
            {
                pgSum -= clippedTerm;
                clipped++;
            }
            else
            {
                pgSum -= unclipped;
                // d(-ratio * A)/d log pi = -ratio * A
                _ops.AddLogProbGradient(current, action, (float)(-unclipped * inv), grad);
            }

            double h = _ops.Entropy(current);
            hSum += h;
            _ops.AddEntropyGradient(current, entropyScale, grad);
            klSum += _ops.Kl(mu, current);

            double v = values[i], target = returns[i];
            double errUnclipped = v - target;
            if (Options.ClipValueLoss)
            {
                double vOld = oldValues[i];
                double vClipped = vOld + Math.Clamp(v - vOld, -epsV, epsV);
                double errClipped = vClipped - target;
                if (errClipped * errClipped > errUnclipped * errUnclipped)
                {
                    vSum += errClipped * errClipped;
                    // vClipped depends on v only inside the clip range.
                    bool inside = Math.Abs(v - vOld) < epsV;
                    dValues[i] = inside ? (float)(Options.ValueCost * errClipped * inv) : 0f;
                    continue;
                }
            }
            vSum += errUnclipped * errUnclipped;
            dValues[i] = (float)(Options.ValueCost * errUnclipped * inv);
        }

        double policyLoss = pgSum * inv;
        double valueLoss = Options.ValueCost * 0.5 * vSum * inv;
        double entropyLoss = -Options.EntropyCost * hSum * inv;
        return new PpoLossResult(policyLoss + valueLoss + entropyLoss, policyLoss, valueLoss, entropyLoss,
            hSum * inv, klSum * inv, (double)clipped / m, m);
    }
}
