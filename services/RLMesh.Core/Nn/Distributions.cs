using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace RLMesh.Core.Nn;

/// <summary>Which action distribution a policy head parameterizes.</summary>
public enum PolicyKind
{
    /// <summary>Discrete actions; the head outputs one logit per action.</summary>
    Categorical,
    /// <summary>Continuous Box actions; the head outputs the mean then the log-std of each dimension.</summary>
    DiagonalGaussian,
}

/// <summary>
/// The shape of a policy head: its kind and its size (actions for categorical, dimensions for Gaussian).
/// </summary>
public readonly record struct PolicySpec(PolicyKind Kind, int Size)
{
    public static PolicySpec Categorical(int actions) => new(PolicyKind.Categorical, actions);
    public static PolicySpec Gaussian(int dimensions) => new(PolicyKind.DiagonalGaussian, dimensions);

    /// <summary>Network outputs per row: A logits, or D means followed by D log-stds.</summary>
    public int OutputSize => Kind == PolicyKind.Categorical ? Size : 2 * Size;

    /// <summary>Floats per stored action: 1 (the index) for categorical, D for Gaussian.</summary>
    public int ActionSize => Kind == PolicyKind.Categorical ? 1 : Size;
}

/// <summary>
/// Categorical distribution over one row of unnormalized logits. Scalars are computed in double from
/// the float inputs; gradient helpers accumulate (<c>grad += scale * d/dlogits</c>) so a loss can add
/// several terms into one buffer without temporaries.
/// </summary>
public static class Categorical
{
    // Rows up to this size are exponentiated once into a stack buffer when sampling.
    private const int StackLimit = 256;

    /// <summary>log-softmax, stable for any finite logits (shifts by the max before exponentiating).</summary>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> logProbs)
    {
        CheckSameLength(logits.Length, logProbs.Length);
        double lse = LogSumExp(logits);
        for (int i = 0; i < logits.Length; i++)
            logProbs[i] = (float)(logits[i] - lse);
    }

    /// <summary>Softmax probabilities (stable).</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probs)
    {
        CheckSameLength(logits.Length, probs.Length);
        double lse = LogSumExp(logits);
        for (int i = 0; i < logits.Length; i++)
            probs[i] = (float)Math.Exp(logits[i] - lse);
    }

    /// <summary>
    /// Draws an action by inverse CDF over exp(logit - max): one exp per action and one uniform draw,
    /// no allocation (rows up to 256 actions use a stack buffer; larger ones recompute the exps).
    /// </summary>
    [SkipLocalsInit]
    public static int Sample(ReadOnlySpan<float> logits, ref Rng rng)
    {
        int n = logits.Length;
        if (n == 0) throw new ArgumentException("No logits to sample from.", nameof(logits));
        float max = logits[0];
        for (int i = 1; i < n; i++) max = MathF.Max(max, logits[i]);

        if (n <= StackLimit)
        {
            // Plain scalar loops: actor rows are a handful of actions, too short for SIMD to pay off.
            Span<float> w = stackalloc float[n];
            float total = 0; // summed in scan order, so the scan below reaches exactly this total
            for (int i = 0; i < n; i++)
            {
                float e = MathF.Exp(logits[i] - max);
                w[i] = e;
                total += e;
            }
            CheckTotal(total);
            float u = rng.NextFloat() * total;
            float cum = 0;
            int last = 0;
            for (int i = 0; i < n; i++)
            {
                if (w[i] <= 0) continue;
                cum += w[i];
                last = i;
                if (u < cum) return i;
            }
            // u * total rounded up to total: the last action with non-zero weight.
            return last;
        }
        else
        {
            float total = 0;
            for (int i = 0; i < n; i++) total += MathF.Exp(logits[i] - max);
            CheckTotal(total);
            float u = rng.NextFloat() * total;
            float cum = 0;
            int last = 0;
            for (int i = 0; i < n; i++)
            {
                float w = MathF.Exp(logits[i] - max);
                if (w <= 0) continue;
                cum += w;
                last = i;
                if (u < cum) return i;
            }
            return last;
        }
    }

    /// <summary>The most probable action (the first one on ties).</summary>
    public static int Greedy(ReadOnlySpan<float> logits)
    {
        if (logits.Length == 0) throw new ArgumentException("No logits.", nameof(logits));
        int best = 0;
        float max = logits[0];
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > max) { max = logits[i]; best = i; }
        }
        return best;
    }

    /// <summary>log pi(action).</summary>
    public static float LogProb(ReadOnlySpan<float> logits, int action)
    {
        CheckAction(action, logits.Length);
        return (float)(logits[action] - LogSumExp(logits));
    }

    /// <summary>H = -sum p log p = logsumexp(l) - sum p l.</summary>
    public static float Entropy(ReadOnlySpan<float> logits) => (float)EntropyDouble(logits, LogSumExp(logits));

    /// <summary>KL(p || q) = sum p (log p - log q); clamped at 0 against rounding.</summary>
    public static float Kl(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogits)
        => (float)KlDouble(pLogits, qLogits, LogSumExp(pLogits), LogSumExp(qLogits));

    /// <summary>
    /// log-softmax and softmax of one row from one exponential per logit and one log, and the entropy H. A loss that
    /// needs log pi(a), H, a KL and their gradients on the same row computes them from these (see
    /// <see cref="KlFromLogProbs"/>) instead of re-normalizing the logits for every term.
    /// </summary>
    public static double Decompose(ReadOnlySpan<float> logits, Span<float> logProbs, Span<float> probs)
    {
        if (logits.Length == 0) throw new ArgumentException("No logits.", nameof(logits));
        CheckSameLength(logits.Length, logProbs.Length);
        CheckSameLength(logits.Length, probs.Length);
        // Policy rows are a handful of logits: a scalar max beats a vectorized call's dispatch.
        float max = logits[0];
        for (int j = 1; j < logits.Length; j++) max = MathF.Max(max, logits[j]);
        double sum = 0;
        for (int j = 0; j < logits.Length; j++)
        {
            double e = Math.Exp((double)logits[j] - max);
            probs[j] = (float)e;
            sum += e;
        }
        double logSum = Math.Log(sum), inverse = 1.0 / sum, h = 0;
        for (int j = 0; j < logits.Length; j++)
        {
            double logP = (double)logits[j] - max - logSum;
            double p = probs[j] * inverse;
            logProbs[j] = (float)logP;
            probs[j] = (float)p;
            if (p != 0) h -= p * logP;
        }
        return h;
    }

    /// <summary>
    /// grad += pgScale * d log pi(action)/dl + entropyScale * dH/dl from a <see cref="Decompose"/>d row:
    /// d log pi(a)/dl_j = onehot_j - p_j and dH/dl_j = -p_j (log p_j + H).
    /// </summary>
    public static void AddLogProbAndEntropyGradient(ReadOnlySpan<float> logProbs, ReadOnlySpan<float> probs, double entropy,
        int action, float pgScale, float entropyScale, Span<float> grad)
    {
        CheckAction(action, logProbs.Length);
        for (int j = 0; j < probs.Length; j++)
        {
            double p = probs[j];
            if (p == 0) continue; // the limit of p log p is 0 (also avoids 0 * -inf)
            grad[j] -= (float)(pgScale * p + entropyScale * p * (logProbs[j] + entropy));
        }
        grad[action] += pgScale;
    }

    /// <summary>KL(p || q) for logits <paramref name="pLogits"/> and a row of log-probabilities q (<see cref="Decompose"/>); clamped at 0.</summary>
    public static float KlFromLogProbs(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogProbs)
    {
        CheckSameLength(pLogits.Length, qLogProbs.Length);
        float max = pLogits[0];
        for (int j = 1; j < pLogits.Length; j++) max = MathF.Max(max, pLogits[j]);
        double sum = 0, weighted = 0;
        for (int j = 0; j < pLogits.Length; j++)
        {
            double shifted = (double)pLogits[j] - max;
            double e = Math.Exp(shifted);
            sum += e;
            if (e != 0) weighted += e * (shifted - qLogProbs[j]);
        }
        // sum_j p_j (log p_j - log q_j) with p_j = e_j / sum and log p_j = shifted_j - log sum.
        return (float)Math.Max(0.0, weighted / sum - Math.Log(sum));
    }

    /// <summary>grad += scale * d log pi(action) / d logits = scale * (onehot(action) - softmax).</summary>
    public static void AddLogProbGradient(ReadOnlySpan<float> logits, int action, float scale, Span<float> grad)
    {
        CheckAction(action, logits.Length);
        CheckSameLength(logits.Length, grad.Length);
        double lse = LogSumExp(logits);
        for (int j = 0; j < logits.Length; j++)
            grad[j] -= (float)(scale * Math.Exp(logits[j] - lse));
        grad[action] += scale;
    }

    /// <summary>grad += scale * dH/dlogits, with dH/dl_j = -p_j (log p_j + H).</summary>
    public static void AddEntropyGradient(ReadOnlySpan<float> logits, float scale, Span<float> grad)
    {
        CheckSameLength(logits.Length, grad.Length);
        double lse = LogSumExp(logits);
        double h = EntropyDouble(logits, lse);
        for (int j = 0; j < logits.Length; j++)
        {
            double logP = logits[j] - lse;
            double p = Math.Exp(logP);
            if (p == 0) continue; // the limit of p log p is 0 (also avoids 0 * -inf)
            grad[j] -= (float)(scale * p * (logP + h));
        }
    }

    /// <summary>grad += scale * d KL(p || q) / d qLogits = scale * (q - p).</summary>
    public static void AddKlGradientWrtQ(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogits, float scale, Span<float> gradQ)
    {
        CheckSameLength(pLogits.Length, qLogits.Length);
        CheckSameLength(qLogits.Length, gradQ.Length);
        double lseP = LogSumExp(pLogits), lseQ = LogSumExp(qLogits);
        for (int j = 0; j < qLogits.Length; j++)
            gradQ[j] += (float)(scale * (Math.Exp(qLogits[j] - lseQ) - Math.Exp(pLogits[j] - lseP)));
    }

    /// <summary>grad += scale * d KL(p || q) / d pLogits = scale * p_j (log p_j - log q_j - KL).</summary>
    public static void AddKlGradientWrtP(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogits, float scale, Span<float> gradP)
    {
        CheckSameLength(pLogits.Length, qLogits.Length);
        CheckSameLength(pLogits.Length, gradP.Length);
        double lseP = LogSumExp(pLogits), lseQ = LogSumExp(qLogits);
        // Unclamped KL: the gradient must be that of the smooth function.
        double kl = 0;
        for (int i = 0; i < pLogits.Length; i++)
        {
            double logP = pLogits[i] - lseP;
            double p = Math.Exp(logP);
            if (p != 0) kl += p * (logP - (qLogits[i] - lseQ));
        }
        for (int j = 0; j < pLogits.Length; j++)
        {
            double logP = pLogits[j] - lseP;
            double p = Math.Exp(logP);
            if (p == 0) continue;
            gradP[j] += (float)(scale * p * (logP - (qLogits[j] - lseQ) - kl));
        }
    }

    internal static double LogSumExp(ReadOnlySpan<float> logits)
    {
        if (logits.Length == 0) throw new ArgumentException("No logits.", nameof(logits));
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
            sum += Math.Exp((double)logits[i] - max);
        return max + Math.Log(sum);
    }

    private static double EntropyDouble(ReadOnlySpan<float> logits, double lse)
    {
        double h = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double logP = logits[i] - lse;
            double p = Math.Exp(logP);
            if (p != 0) h -= p * logP;
        }
        return h;
    }

    private static double KlDouble(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogits, double lseP, double lseQ)
    {
        CheckSameLength(pLogits.Length, qLogits.Length);
        double kl = 0;
        for (int i = 0; i < pLogits.Length; i++)
        {
            double logP = pLogits[i] - lseP;
            double p = Math.Exp(logP);
            if (p != 0) kl += p * (logP - (qLogits[i] - lseQ));
        }
        return Math.Max(0, kl);
    }

    private static void CheckTotal(float total)
    {
        // Max-shifted exps sum to >= 1 for finite logits; anything else means NaN or +inf came in.
        if (!(total >= 1) || float.IsPositiveInfinity(total))
            throw new ArgumentException("Logits must be finite (got NaN or infinity).");
    }

    internal static void CheckAction(int action, int count)
    {
        if ((uint)action >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(action), action, $"Action must be in [0, {count}).");
    }

    internal static void CheckSameLength(int expected, int actual)
    {
        if (expected != actual)
            throw new ArgumentException($"Span length {actual} does not match {expected}.");
    }
}

/// <summary>
/// Diagonal Gaussian with parameters (mean[d], logStd[d]); std = exp(logStd).
/// There is no tanh squashing: the sample is unbounded, the environment clips it to its Box (as
/// Gymnasium's Pendulum and MountainCarContinuous do), and every log-probability here, including the
/// behaviour policy's stored one, is that of the UNCLIPPED sample, which is what actors must store in
/// <see cref="Data.Trajectory.Actions"/>. The log-std is used as given; bounding it is the network's job.
/// Scalars are computed in double; gradient helpers accumulate (<c>grad += scale * derivative</c>).
/// </summary>
public static class DiagonalGaussian
{
    private static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);
    // Per-dimension entropy of a unit Gaussian: 0.5 * log(2 pi e).
    private static readonly double HalfLog2PiE = 0.5 * Math.Log(2 * Math.PI * Math.E);

    /// <summary>action = mean + exp(logStd) * N(0, 1) per dimension (unclipped).</summary>
    public static void Sample(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd, ref Rng rng, Span<float> action)
    {
        Check(mean, logStd);
        Categorical.CheckSameLength(mean.Length, action.Length);
        for (int i = 0; i < mean.Length; i++)
            action[i] = (float)(mean[i] + Math.Exp(logStd[i]) * rng.NextGaussian());
    }

    /// <summary>The mode, i.e. the mean (for greedy evaluation).</summary>
    public static void Mode(ReadOnlySpan<float> mean, Span<float> action) => mean.CopyTo(action);

    /// <summary>log N(action; mean, diag(exp(logStd))^2) = sum -0.5 z^2 - logStd - 0.5 log(2 pi).</summary>
    public static float LogProb(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd, ReadOnlySpan<float> action)
    {
        Check(mean, logStd);
        Categorical.CheckSameLength(mean.Length, action.Length);
        double sum = 0;
        for (int i = 0; i < mean.Length; i++)
        {
            double z = (action[i] - (double)mean[i]) * Math.Exp(-(double)logStd[i]);
            sum += -0.5 * z * z - logStd[i] - HalfLog2Pi;
        }
        return (float)sum;
    }

    /// <summary>H = sum (logStd + 0.5 log(2 pi e)).</summary>
    public static float Entropy(ReadOnlySpan<float> logStd)
    {
        double sum = 0;
        for (int i = 0; i < logStd.Length; i++) sum += logStd[i] + HalfLog2PiE;
        return (float)sum;
    }

    /// <summary>KL(p || q) = sum [log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2].</summary>
    public static float Kl(ReadOnlySpan<float> pMean, ReadOnlySpan<float> pLogStd, ReadOnlySpan<float> qMean, ReadOnlySpan<float> qLogStd)
    {
        Check(pMean, pLogStd);
        Check(qMean, qLogStd);
        Categorical.CheckSameLength(pMean.Length, qMean.Length);
        double sum = 0;
        for (int i = 0; i < pMean.Length; i++)
        {
            double diff = (double)pMean[i] - qMean[i];
            double ratio = Math.Exp(2.0 * ((double)pLogStd[i] - qLogStd[i])); // sp^2 / sq^2
            double invVarQ = Math.Exp(-2.0 * qLogStd[i]);
            sum += qLogStd[i] - (double)pLogStd[i] + 0.5 * (ratio + diff * diff * invVarQ) - 0.5;
        }
        return (float)Math.Max(0, sum);
    }

    /// <summary>
    /// dMean += scale * (a - m) / s^2; dLogStd += scale * (((a - m) / s)^2 - 1).
    /// </summary>
    public static void AddLogProbGradient(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd, ReadOnlySpan<float> action,
        float scale, Span<float> dMean, Span<float> dLogStd)
    {
        Check(mean, logStd);
        Categorical.CheckSameLength(mean.Length, action.Length);
        Categorical.CheckSameLength(mean.Length, dMean.Length);
        Categorical.CheckSameLength(mean.Length, dLogStd.Length);
        for (int i = 0; i < mean.Length; i++)
        {
            double invStd = Math.Exp(-(double)logStd[i]);
            double z = (action[i] - (double)mean[i]) * invStd;
            dMean[i] += (float)(scale * z * invStd);
            dLogStd[i] += (float)(scale * (z * z - 1));
        }
    }

    /// <summary>dLogStd += scale (dH/dlogStd = 1 per dimension; the mean has no entropy gradient).</summary>
    public static void AddEntropyGradient(ReadOnlySpan<float> logStd, float scale, Span<float> dLogStd)
    {
        Categorical.CheckSameLength(logStd.Length, dLogStd.Length);
        for (int i = 0; i < dLogStd.Length; i++) dLogStd[i] += scale;
    }

    /// <summary>
    /// Gradient of KL(p || q) w.r.t. p's parameters: dpMean += scale * (mp - mq) / sq^2;
    /// dpLogStd += scale * (sp^2 / sq^2 - 1).
    /// </summary>
    public static void AddKlGradientWrtP(ReadOnlySpan<float> pMean, ReadOnlySpan<float> pLogStd, ReadOnlySpan<float> qMean, ReadOnlySpan<float> qLogStd,
        float scale, Span<float> dpMean, Span<float> dpLogStd)
    {
        CheckKlArgs(pMean, pLogStd, qMean, qLogStd, dpMean, dpLogStd);
        for (int i = 0; i < pMean.Length; i++)
        {
            double diff = (double)pMean[i] - qMean[i];
            double invVarQ = Math.Exp(-2.0 * qLogStd[i]);
            double ratio = Math.Exp(2.0 * ((double)pLogStd[i] - qLogStd[i]));
            dpMean[i] += (float)(scale * diff * invVarQ);
            dpLogStd[i] += (float)(scale * (ratio - 1));
        }
    }

    /// <summary>
    /// Gradient of KL(p || q) w.r.t. q's parameters: dqMean += scale * (mq - mp) / sq^2;
    /// dqLogStd += scale * (1 - (sp^2 + (mp - mq)^2) / sq^2).
    /// </summary>
    public static void AddKlGradientWrtQ(ReadOnlySpan<float> pMean, ReadOnlySpan<float> pLogStd, ReadOnlySpan<float> qMean, ReadOnlySpan<float> qLogStd,
        float scale, Span<float> dqMean, Span<float> dqLogStd)
    {
        CheckKlArgs(pMean, pLogStd, qMean, qLogStd, dqMean, dqLogStd);
        for (int i = 0; i < pMean.Length; i++)
        {
            double diff = (double)pMean[i] - qMean[i];
            double invVarQ = Math.Exp(-2.0 * qLogStd[i]);
            double ratio = Math.Exp(2.0 * ((double)pLogStd[i] - qLogStd[i]));
            dqMean[i] += (float)(-scale * diff * invVarQ);
            dqLogStd[i] += (float)(scale * (1 - ratio - diff * diff * invVarQ));
        }
    }

    private static void CheckKlArgs(ReadOnlySpan<float> pMean, ReadOnlySpan<float> pLogStd, ReadOnlySpan<float> qMean, ReadOnlySpan<float> qLogStd,
        Span<float> dMean, Span<float> dLogStd)
    {
        Check(pMean, pLogStd);
        Check(qMean, qLogStd);
        Categorical.CheckSameLength(pMean.Length, qMean.Length);
        Categorical.CheckSameLength(pMean.Length, dMean.Length);
        Categorical.CheckSameLength(pMean.Length, dLogStd.Length);
    }

    private static void Check(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd)
        => Categorical.CheckSameLength(mean.Length, logStd.Length);
}
