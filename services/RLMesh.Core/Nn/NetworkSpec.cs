namespace RLMesh.Core.Nn;

/// <summary>The policy head of an <see cref="IActorCriticNetwork"/>.</summary>
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
/// Description of an actor-critic network: what checkpoints and weight snapshots record so that a runner or an
/// evaluation builds the same network. The defaults (MLP torso of <see cref="Hidden"/> widths, no LSTM, vector
/// observations, backend chosen automatically) are the networks every release before presets built.
/// <see cref="PolicyGain"/>/<see cref="ValueGain"/> scale the output heads' initial weights and biases.
/// Note: <see cref="Hidden"/> and the other arrays make record equality compare them by reference.
/// </summary>
public sealed record NetworkSpec(int ObservationSize, int[] Hidden, Activation Activation, PolicyHead Head)
{
    public float PolicyGain { get; init; } = 0.01f;
    public float ValueGain { get; init; } = 1f;

    /// <summary>
    /// The engine asked for. <see cref="NetworkFactory.Create"/> replaces Auto with the backend it used, so a built
    /// network's spec always names one.
    /// </summary>
    public NetworkBackend Backend { get; init; } = NetworkBackend.Auto;

    /// <summary>The torso preset. Conv presets (<see cref="NetworkTorso.MinAtar"/>, <see cref="NetworkTorso.Nature"/>) ignore <see cref="Hidden"/>.</summary>
    public NetworkTorso Torso { get; init; } = NetworkTorso.Mlp;

    /// <summary>Hidden size of an LSTM core between torso and heads; 0 (default) for none.</summary>
    public int LstmSize { get; init; }

    private readonly int[]? _observationShape;

    /// <summary>
    /// The environment's observation shape, row-major (images channels-last: [H, W, C]); its product is
    /// <see cref="ObservationSize"/>. Defaults to the flat vector [ObservationSize].
    /// </summary>
    public int[] ObservationShape
    {
        get => _observationShape ?? [ObservationSize];
        init => _observationShape = value;
    }

    /// <summary>
    /// Optional fixed input standardisation, x' = (x - InputShift) * InputScale per observation element, applied
    /// before the first layer in training and inference alike, so checkpoints carry it. For observations whose
    /// raw ranges saturate or starve the first tanh layer. Both null, or both of length ObservationSize.
    /// </summary>
    public float[]? InputShift { get; init; }
    public float[]? InputScale { get; init; }

    internal bool HasInputScaling => InputShift is not null;

    public int PolicyOutputSize => Head.OutputSize;

    /// <summary>Throws <see cref="ArgumentException"/> for an inconsistent spec; backends call it before building.</summary>
    public void Validate()
    {
        if (ObservationSize <= 0) throw new ArgumentException("ObservationSize must be positive.");
        ArgumentNullException.ThrowIfNull(Hidden);
        ArgumentNullException.ThrowIfNull(Head);
        if (Hidden.Any(h => h <= 0)) throw new ArgumentException("Hidden sizes must be positive.");
        if (LstmSize < 0) throw new ArgumentException("LstmSize must be zero (no LSTM) or positive.");
        if (!Enum.IsDefined(Torso)) throw new ArgumentException($"Unknown torso {Torso}.");
        if (!Enum.IsDefined(Backend)) throw new ArgumentException($"Unknown backend {Backend}.");
        int[] shape = ObservationShape;
        long product = 1;
        foreach (int d in shape) product *= d;
        if (shape.Length == 0 || shape.Any(d => d <= 0) || product != ObservationSize)
            throw new ArgumentException($"ObservationShape [{string.Join(", ", shape)}] does not describe {ObservationSize} observation values.");
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
