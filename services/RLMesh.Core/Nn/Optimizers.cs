using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace RLMesh.Core.Nn;

/// <summary>An in-place update rule over all values of a <see cref="ParameterBuffer"/> using its gradients.</summary>
public abstract class Optimizer
{
    protected Optimizer(ParameterBuffer parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        LearningRate = learningRate;
    }

    public ParameterBuffer Parameters { get; }
    public float LearningRate { get; set; }

    /// <summary>Applies one update from the current gradients (does not zero them).</summary>
    public abstract void Step();

    /// <summary>The optimizer's state (moments, step count) as a flat array, for checkpoints.</summary>
    public abstract float[] ExportState();

    public abstract void ImportState(ReadOnlySpan<float> state);

    private protected void CheckStateLength(ReadOnlySpan<float> state, int expected)
    {
        if (state.Length != expected) throw new ArgumentException($"State has {state.Length} values, expected {expected}.", nameof(state));
    }
}

/// <summary>
/// RMSprop with PyTorch (torch.optim.RMSprop, as used by TorchBeast) semantics:
/// v = α·v + (1−α)·g²; [centered: m = α·m + (1−α)·g, v̂ = v − m²]; avg = sqrt(v̂) + ε (ε OUTSIDE the sqrt);
/// momentum &gt; 0: buf = μ·buf + g/avg, p −= lr·buf; else p −= lr·g/avg. No weight decay.
/// State layout: square_avg, then momentum buffer (if momentum &gt; 0), then grad_avg (if centered).
/// </summary>
public sealed class RmsProp : Optimizer
{
    private readonly float[] _squareAvg;
    private readonly float[] _momentumBuffer;
    private readonly float[] _gradAvg;

    public RmsProp(ParameterBuffer parameters, float learningRate, float alpha = 0.99f, float eps = 0.01f, float momentum = 0f, bool centered = false)
        : base(parameters, learningRate)
    {
        if (alpha is < 0f or > 1f) throw new ArgumentOutOfRangeException(nameof(alpha));
        if (eps < 0f) throw new ArgumentOutOfRangeException(nameof(eps));
        if (momentum < 0f) throw new ArgumentOutOfRangeException(nameof(momentum));
        Alpha = alpha;
        Eps = eps;
        Momentum = momentum;
        Centered = centered;
        _squareAvg = new float[parameters.Count];
        _momentumBuffer = momentum > 0f ? new float[parameters.Count] : [];
        _gradAvg = centered ? new float[parameters.Count] : [];
    }

    public float Alpha { get; }
    public float Eps { get; }
    public float Momentum { get; }
    public bool Centered { get; }

    public override void Step()
    {
        Span<float> p = Parameters.Values;
        ReadOnlySpan<float> g = Parameters.Gradients;
        Span<float> v = _squareAvg;
        float alpha = Alpha, beta = 1f - Alpha, eps = Eps, lr = LearningRate, mu = Momentum;
        bool useMomentum = mu > 0f;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            var vb = Vector256.Create(beta);
            var ve = Vector256.Create(eps);
            var vlr = Vector256.Create(lr);
            var vmu = Vector256.Create(mu);
            for (; i + 8 <= p.Length; i += 8)
            {
                var gi = Vector256.Create(g.Slice(i, 8));
                var vi = va * Vector256.Create(v.Slice(i, 8)) + vb * (gi * gi);
                vi.CopyTo(v.Slice(i, 8));
                Vector256<float> avg;
                if (Centered)
                {
                    var mi = va * Vector256.Create(_gradAvg.AsSpan(i, 8)) + vb * gi;
                    mi.CopyTo(_gradAvg.AsSpan(i, 8));
                    avg = Vector256.Sqrt(vi - mi * mi) + ve;
                }
                else
                {
                    avg = Vector256.Sqrt(vi) + ve;
                }
                Vector256<float> update;
                if (useMomentum)
                {
                    update = vmu * Vector256.Create(_momentumBuffer.AsSpan(i, 8)) + gi / avg;
                    update.CopyTo(_momentumBuffer.AsSpan(i, 8));
                }
                else
                {
                    update = gi / avg;
                }
                (Vector256.Create(p.Slice(i, 8)) - vlr * update).CopyTo(p.Slice(i, 8));
            }
        }
        for (; i < p.Length; i++)
        {
            float gi = g[i];
            float vi = v[i] = alpha * v[i] + beta * (gi * gi);
            float avg;
            if (Centered)
            {
                float mi = _gradAvg[i] = alpha * _gradAvg[i] + beta * gi;
                avg = MathF.Sqrt(vi - mi * mi) + eps;
            }
            else
            {
                avg = MathF.Sqrt(vi) + eps;
            }
            float update = useMomentum ? (_momentumBuffer[i] = mu * _momentumBuffer[i] + gi / avg) : gi / avg;
            p[i] -= lr * update;
        }
    }

    public override float[] ExportState()
    {
        var state = new float[_squareAvg.Length + _momentumBuffer.Length + _gradAvg.Length];
        _squareAvg.CopyTo(state, 0);
        _momentumBuffer.CopyTo(state, _squareAvg.Length);
        _gradAvg.CopyTo(state, _squareAvg.Length + _momentumBuffer.Length);
        return state;
    }

    public override void ImportState(ReadOnlySpan<float> state)
    {
        CheckStateLength(state, _squareAvg.Length + _momentumBuffer.Length + _gradAvg.Length);
        state[.._squareAvg.Length].CopyTo(_squareAvg);
        state.Slice(_squareAvg.Length, _momentumBuffer.Length).CopyTo(_momentumBuffer);
        state[(_squareAvg.Length + _momentumBuffer.Length)..].CopyTo(_gradAvg);
    }
}

/// <summary>
/// Adam with PyTorch (torch.optim.Adam, amsgrad=False, no weight decay) semantics:
/// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= (lr/(1−β1ᵗ))·m / (sqrt(v)/sqrt(1−β2ᵗ) + ε).
/// State layout: [step low 24 bits, step high bits, m..., v...] (the step split keeps it exact in float).
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly float[] _m;
    private readonly float[] _v;

    public Adam(ParameterBuffer parameters, float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f)
        : base(parameters, learningRate)
    {
        if (beta1 is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(beta1));
        if (beta2 is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(beta2));
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        _m = new float[parameters.Count];
        _v = new float[parameters.Count];
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public long StepCount { get; private set; }

    public override void Step()
    {
        StepCount++;
        // Bias corrections in double: β^t for large t is where float would drift.
        float stepSize = (float)(LearningRate / (1.0 - Math.Pow(Beta1, StepCount)));
        float sqrtBc2 = (float)Math.Sqrt(1.0 - Math.Pow(Beta2, StepCount));
        Span<float> p = Parameters.Values;
        ReadOnlySpan<float> g = Parameters.Gradients;
        float b1 = Beta1, c1 = 1f - Beta1, b2 = Beta2, c2 = 1f - Beta2, eps = Eps;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vb1 = Vector256.Create(b1); var vc1 = Vector256.Create(c1);
            var vb2 = Vector256.Create(b2); var vc2 = Vector256.Create(c2);
            var veps = Vector256.Create(eps); var vstep = Vector256.Create(stepSize); var vbc2 = Vector256.Create(sqrtBc2);
            for (; i + 8 <= p.Length; i += 8)
            {
                var gi = Vector256.Create(g.Slice(i, 8));
                var mi = vb1 * Vector256.Create(_m.AsSpan(i, 8)) + vc1 * gi;
                var vi = vb2 * Vector256.Create(_v.AsSpan(i, 8)) + vc2 * (gi * gi);
                mi.CopyTo(_m.AsSpan(i, 8));
                vi.CopyTo(_v.AsSpan(i, 8));
                var denom = Vector256.Sqrt(vi) / vbc2 + veps;
                (Vector256.Create(p.Slice(i, 8)) - vstep * (mi / denom)).CopyTo(p.Slice(i, 8));
            }
        }
        for (; i < p.Length; i++)
        {
            float gi = g[i];
            float mi = _m[i] = b1 * _m[i] + c1 * gi;
            float vi = _v[i] = b2 * _v[i] + c2 * (gi * gi);
            p[i] -= stepSize * (mi / (MathF.Sqrt(vi) / sqrtBc2 + eps));
        }
    }

    public override float[] ExportState()
    {
        var state = new float[2 + _m.Length + _v.Length];
        state[0] = StepCount & 0xFFFFFF;
        state[1] = StepCount >> 24;
        _m.CopyTo(state, 2);
        _v.CopyTo(state, 2 + _m.Length);
        return state;
    }

    public override void ImportState(ReadOnlySpan<float> state)
    {
        CheckStateLength(state, 2 + _m.Length + _v.Length);
        StepCount = (long)state[0] | ((long)state[1] << 24);
        state.Slice(2, _m.Length).CopyTo(_m);
        state.Slice(2 + _m.Length, _v.Length).CopyTo(_v);
    }
}

public static class GradientClipping
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_ semantics: returns the total L2 norm before clipping and, when
    /// maxNorm/(norm + 1e-6) &lt; 1, scales all gradients by that factor.
    /// </summary>
    public static float ClipGlobalNorm(Span<float> gradients, float maxNorm)
    {
        float norm = TensorPrimitives.Norm(gradients);
        float scale = maxNorm / (norm + 1e-6f);
        if (scale < 1f) TensorPrimitives.Multiply(gradients, scale, gradients);
        return norm;
    }
}
