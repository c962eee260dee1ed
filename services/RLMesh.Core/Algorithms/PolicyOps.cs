using RLMesh.Core.Nn;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// The distribution operations the losses need, on one row of policy outputs, for either head kind:
/// logits (categorical) or D means followed by D log-stds (diagonal Gaussian). Gradient helpers
/// accumulate (<c>grad += scale * derivative</c>) like those of <see cref="Categorical"/>.
/// </summary>
internal readonly struct PolicyOps(PolicySpec spec)
{
    public PolicySpec Spec { get; } = spec;
    private bool IsCategorical => Spec.Kind == PolicyKind.Categorical;
    private int D => Spec.Size;

    public float LogProb(ReadOnlySpan<float> outputs, ReadOnlySpan<float> action) => IsCategorical
        ? Categorical.LogProb(outputs, (int)action[0])
        : DiagonalGaussian.LogProb(outputs[..D], outputs[D..], action);

    public void AddLogProbGradient(ReadOnlySpan<float> outputs, ReadOnlySpan<float> action, float scale, Span<float> grad)
    {
        if (IsCategorical) Categorical.AddLogProbGradient(outputs, (int)action[0], scale, grad);
        else DiagonalGaussian.AddLogProbGradient(outputs[..D], outputs[D..], action, scale, grad[..D], grad[D..]);
    }

    public float Entropy(ReadOnlySpan<float> outputs) => IsCategorical
        ? Categorical.Entropy(outputs)
        : DiagonalGaussian.Entropy(outputs[D..]);

    public void AddEntropyGradient(ReadOnlySpan<float> outputs, float scale, Span<float> grad)
    {
        if (IsCategorical) Categorical.AddEntropyGradient(outputs, scale, grad);
        else DiagonalGaussian.AddEntropyGradient(outputs[D..], scale, grad[D..]);
    }

    /// <summary>KL(p || q).</summary>
    public float Kl(ReadOnlySpan<float> p, ReadOnlySpan<float> q) => IsCategorical
        ? Categorical.Kl(p, q)
        : DiagonalGaussian.Kl(p[..D], p[D..], q[..D], q[D..]);

    /// <summary>grad_q += scale * d KL(p || q) / d q.</summary>
    public void AddKlGradientWrtQ(ReadOnlySpan<float> p, ReadOnlySpan<float> q, float scale, Span<float> gradQ)
    {
        if (IsCategorical) Categorical.AddKlGradientWrtQ(p, q, scale, gradQ);
        else DiagonalGaussian.AddKlGradientWrtQ(p[..D], p[D..], q[..D], q[D..], scale, gradQ[..D], gradQ[D..]);
    }
}
