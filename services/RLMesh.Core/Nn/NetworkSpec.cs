namespace RLMesh.Core.Nn;

/// <summary>The policy head of an <see cref="ActorCriticNet"/>.</summary>
public abstract record PolicyHead
{
    private protected PolicyHead() { }

    /// <summary>Width of one row of policy outputs.</summary>
    public abstract int OutputSize { get; }

    /// <summary>The action distribution this head parameterises.</summary>
    public abstract PolicySpec Distribution { get; }
}

/// <summary><paramref name="Actions"/> unnormalised logits per row.</summary>
public sealed record CategoricalHead(int Actions) : PolicyHead
{
    public override int OutputSize => Actions;
    public override PolicySpec Distribution => PolicySpec.Categorical(Actions);
}

/// <summary>
/// Diagonal Gaussian: per row <paramref name="ActionSize"/> means followed by <paramref name="ActionSize"/>
/// log-stds. The log-std is a state-independent parameter vector (initialised to <paramref name="InitialLogStd"/>)
/// broadcast to every row.
/// </summary>
public sealed record GaussianHead(int ActionSize, float InitialLogStd = 0f) : PolicyHead
{
    public override int OutputSize => 2 * ActionSize;
    public override PolicySpec Distribution => PolicySpec.Gaussian(ActionSize);
}

/// <summary>
/// Shape of an actor-critic MLP. <see cref="PolicyGain"/>/<see cref="ValueGain"/> scale the output heads'
/// initial weights and biases. Note: <see cref="Hidden"/> is an array, so record equality compares it by reference.
/// </summary>
public sealed record NetworkSpec(int ObservationSize, int[] Hidden, Activation Activation, PolicyHead Head)
{
    public float PolicyGain { get; init; } = 0.01f;
    public float ValueGain { get; init; } = 1f;

    /// <summary>
    /// Optional fixed input standardisation, x' = (x - InputShift) * InputScale per observation element, applied
    /// before the first layer in training and inference alike, so checkpoints carry it. For observations whose
    /// raw ranges saturate or starve the first tanh layer. Both null, or both of length ObservationSize.
    /// </summary>
    public float[]? InputShift { get; init; }
    public float[]? InputScale { get; init; }

    internal bool HasInputScaling => InputShift is not null;

    public int PolicyOutputSize => Head.OutputSize;

    internal void Validate()
    {
        if (ObservationSize <= 0) throw new ArgumentException("ObservationSize must be positive.");
        ArgumentNullException.ThrowIfNull(Hidden);
        ArgumentNullException.ThrowIfNull(Head);
        if (Hidden.Any(h => h <= 0)) throw new ArgumentException("Hidden sizes must be positive.");
        if ((InputShift is null) != (InputScale is null)
            || (InputShift is not null && (InputShift.Length != ObservationSize || InputScale!.Length != ObservationSize)))
            throw new ArgumentException("InputShift and InputScale must both be null or both have ObservationSize elements.");
        if (InputScale is not null && InputScale.Any(v => !float.IsFinite(v) || v == 0))
            throw new ArgumentException("InputScale elements must be finite and non-zero.");
        switch (Head)
        {
            case CategoricalHead c when c.Actions <= 0: throw new ArgumentException("Actions must be positive.");
            case GaussianHead g when g.ActionSize <= 0: throw new ArgumentException("ActionSize must be positive.");
        }
    }
}
