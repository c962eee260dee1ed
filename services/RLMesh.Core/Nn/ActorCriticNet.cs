namespace RLMesh.Core.Nn;

/// <summary>
/// The native backend of <see cref="IActorCriticNetwork"/>: a shared MLP torso (Linear + activation per hidden layer) feeding a policy head and a scalar value head.
/// All parameters live in one <see cref="ParameterBuffer"/> in the order torso.0 … torso.{L-1}, policy,
/// value, then (Gaussian only) policy.log_std.
/// <para>Training: <see cref="Forward"/> caches activations in workspaces that grow to the largest batch
/// seen; <see cref="Backward"/> accumulates into <c>Parameters.Gradients</c> for the last Forward.
/// Acting: <see cref="CreateInferenceSession"/> gives an allocation-free evaluator with its own buffers.
/// Not thread-safe: one net (or one session) per thread. Feed-forward only: <see cref="CoreStateSize"/> is 0 and
/// the sequence arguments of the interface's Forward are ignored.</para>
/// </summary>
public sealed class ActorCriticNet : IActorCriticNetwork
{
    private readonly Linear[] _torso;
    private readonly Linear _policy;
    private readonly Linear _value;
    private readonly ParameterSlice? _logStd;
    private readonly int _actionSize; // columns produced by the policy Linear (logits or means)
    private readonly int _maxWidth;

    private readonly Activations _train;
    private float[] _input = [];
    private float[] _grad0 = [];
    private float[] _grad1 = [];
    private int _lastBatch = -1;

    private ActorCriticNet(NetworkSpec spec)
    {
        spec.Validate();
        Spec = spec;
        PolicyOutputSize = spec.PolicyOutputSize;
        _actionSize = spec.Head switch
        {
            CategoricalHead c => c.Actions,
            GaussianHead g => g.ActionSize,
            _ => throw new NotSupportedException(spec.Head.GetType().Name),
        };
        var layout = new List<(string, int[])>();
        int width = spec.ObservationSize;
        for (int l = 0; l < spec.Hidden.Length; l++)
        {
            layout.AddRange(Linear.Layout($"torso.{l}", width, spec.Hidden[l]));
            width = spec.Hidden[l];
        }
        layout.AddRange(Linear.Layout("policy", width, _actionSize));
        layout.AddRange(Linear.Layout("value", width, 1));
        if (spec.Head is GaussianHead) layout.Add(("policy.log_std", [_actionSize]));
        Parameters = new ParameterBuffer(layout);

        _torso = new Linear[spec.Hidden.Length];
        for (int l = 0; l < _torso.Length; l++) _torso[l] = new Linear(Parameters, $"torso.{l}");
        _policy = new Linear(Parameters, "policy");
        _value = new Linear(Parameters, "value");
        if (spec.Head is GaussianHead) _logStd = Parameters["policy.log_std"];
        _maxWidth = spec.Hidden.Length == 0 ? spec.ObservationSize : spec.Hidden.Max();
        _train = new Activations(this);
    }

    public static ActorCriticNet Create(NetworkSpec spec, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var net = new ActorCriticNet(spec);
        var rng = new Rng(seed);
        foreach (Linear layer in net._torso) layer.Initialize(ref rng);
        net._policy.Initialize(ref rng, spec.PolicyGain);
        net._value.Initialize(ref rng, spec.ValueGain);
        if (spec.Head is GaussianHead g) net.Parameters.ValuesOf(net._logStd!).Fill(g.InitialLogStd);
        return net;
    }

    public NetworkSpec Spec { get; }
    public ParameterBuffer Parameters { get; }
    public int PolicyOutputSize { get; }
    public int ObservationSize => Spec.ObservationSize;
    public NetworkBackend Backend => NetworkBackend.Native;
    public int CoreStateSize => 0;

    /// <summary>Deep copy: same spec, copied values and gradients, fresh workspaces.</summary>
    public ActorCriticNet Clone()
    {
        var copy = new ActorCriticNet(Spec);
        Parameters.Values.CopyTo(copy.Parameters.Values, 0);
        Parameters.Gradients.CopyTo(copy.Parameters.Gradients, 0);
        return copy;
    }

    IActorCriticNetwork IActorCriticNetwork.Clone() => Clone();

    public InferenceSession CreateInferenceSession() => new(this);

    IInferenceSession IActorCriticNetwork.CreateInferenceSession() => CreateInferenceSession();

    /// <summary>Feed-forward: the steps x columns rows are independent, so this is <see cref="Forward(ReadOnlySpan{float}, int, Span{float}, Span{float})"/> over all of them.</summary>
    public void Forward(ReadOnlySpan<float> observations, int steps, int columns,
        ReadOnlySpan<float> initialCoreState, ReadOnlySpan<bool> episodeStarts,
        Span<float> policyOutputs, Span<float> values)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Forward(observations, steps * columns, policyOutputs, values);
    }

    /// <summary>
    /// Training forward pass over <paramref name="batch"/> rows of observations [batch, ObservationSize] into
    /// policyOutputs [batch, PolicyOutputSize] and values [batch]; caches what <see cref="Backward"/> needs.
    /// </summary>
    public void Forward(ReadOnlySpan<float> observations, int batch, Span<float> policyOutputs, Span<float> values)
    {
        CheckShapes(observations.Length, batch, policyOutputs.Length, values.Length);
        int n = batch * Spec.ObservationSize;
        if (_input.Length < n) _input = new float[n];
        observations[..n].CopyTo(_input);
        ScaleInput(_input.AsSpan(0, n), batch);
        Run(_train, _input, batch, policyOutputs, values);
        _lastBatch = batch;
    }

    /// <summary>
    /// Accumulates d(loss)/d(parameters) into <c>Parameters.Gradients</c> given d(loss)/d(policyOutputs)
    /// [batch, PolicyOutputSize] and d(loss)/d(values) [batch] for the most recent <see cref="Forward"/>.
    /// For a Gaussian head the log-std columns' gradients are summed over the batch into policy.log_std.
    /// </summary>
    public void Backward(ReadOnlySpan<float> dPolicyOutputs, ReadOnlySpan<float> dValues)
    {
        int batch = _lastBatch;
        if (batch < 0) throw new InvalidOperationException("Backward needs a preceding Forward.");
        int p = PolicyOutputSize;
        if (dPolicyOutputs.Length < batch * p) throw new ArgumentException($"Need {batch * p} policy gradients.", nameof(dPolicyOutputs));
        if (dValues.Length < batch) throw new ArgumentException($"Need {batch} value gradients.", nameof(dValues));

        int layers = _torso.Length;
        ReadOnlySpan<float> lastActivation = layers == 0 ? _input : _train.Hidden[layers - 1];
        int lastWidth = layers == 0 ? Spec.ObservationSize : Spec.Hidden[layers - 1];
        int need = batch * _maxWidth;
        if (_grad0.Length < need) { _grad0 = new float[need]; _grad1 = new float[need]; }

        // Heads: both feed from the last torso activation, so their input gradients add up in dH.
        Span<float> dH = layers == 0 ? Span<float>.Empty : _grad0.AsSpan(0, batch * lastWidth);
        _policy.Backward(lastActivation, lastWidth, dPolicyOutputs, p, batch, dH, lastWidth, accumulateDx: false);
        _value.Backward(lastActivation, lastWidth, dValues, 1, batch, dH, lastWidth, accumulateDx: true);
        if (_logStd is not null)
        {
            Span<float> g = Parameters.GradientsOf(_logStd);
            for (int r = 0; r < batch; r++)
                System.Numerics.Tensors.TensorPrimitives.Add(g, dPolicyOutputs.Slice(r * p + _actionSize, _actionSize), g);
        }

        float[] cur = _grad0, next = _grad1;
        for (int l = layers - 1; l >= 0; l--)
        {
            int width = Spec.Hidden[l];
            Span<float> dY = cur.AsSpan(0, batch * width);
            ActivationFunctions.Backward(Spec.Activation, _train.Hidden[l].AsSpan(0, batch * width), dY, dY);
            ReadOnlySpan<float> x = l == 0 ? _input : _train.Hidden[l - 1];
            int inWidth = _torso[l].In;
            Span<float> dX = l == 0 ? Span<float>.Empty : next.AsSpan(0, batch * inWidth);
            _torso[l].Backward(x, inWidth, dY, width, batch, dX, inWidth);
            (cur, next) = (next, cur);
        }
    }

    internal void CheckShapes(int observations, int batch, int policyOutputs, int values)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch));
        if (observations < batch * Spec.ObservationSize) throw new ArgumentException($"Need {batch * Spec.ObservationSize} observation values.", nameof(observations));
        if (policyOutputs < batch * PolicyOutputSize) throw new ArgumentException($"Need {batch * PolicyOutputSize} policy outputs.", nameof(policyOutputs));
        if (values < batch) throw new ArgumentException($"Need {batch} values.", nameof(values));
    }

    /// <summary>Applies the spec's fixed input standardisation in place (no-op without one).</summary>
    internal void ScaleInput(Span<float> rows, int batch)
    {
        if (!Spec.HasInputScaling) return;
        int d = Spec.ObservationSize;
        ReadOnlySpan<float> shift = Spec.InputShift, scale = Spec.InputScale;
        for (int r = 0; r < batch; r++)
        {
            var row = rows.Slice(r * d, d);
            System.Numerics.Tensors.TensorPrimitives.Subtract(row, shift, row);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, scale, row);
        }
    }

    // The forward pass shared by training and inference; only the activation buffers differ.
    // Observations arrive already standardised (see ScaleInput).
    internal void Run(Activations ws, ReadOnlySpan<float> observations, int batch, Span<float> policyOutputs, Span<float> values)
    {
        ws.Ensure(batch);
        ReadOnlySpan<float> x = observations;
        int width = Spec.ObservationSize;
        for (int l = 0; l < _torso.Length; l++)
        {
            int outWidth = Spec.Hidden[l];
            Span<float> h = ws.Hidden[l].AsSpan(0, batch * outWidth);
            _torso[l].Forward(x, width, batch, h, outWidth);
            ActivationFunctions.Forward(Spec.Activation, h, h);
            x = h;
            width = outWidth;
        }
        int p = PolicyOutputSize;
        _policy.Forward(x, width, batch, policyOutputs, p);
        _value.Forward(x, width, batch, values, 1);
        if (_logStd is not null)
        {
            ReadOnlySpan<float> logStd = Parameters.ValuesOf(_logStd);
            for (int r = 0; r < batch; r++) logStd.CopyTo(policyOutputs.Slice(r * p + _actionSize, _actionSize));
        }
    }

    /// <summary>Per-layer activation buffers, grown to the largest batch seen and then reused.</summary>
    internal sealed class Activations(ActorCriticNet net)
    {
        public readonly float[][] Hidden = net.Spec.Hidden.Select(_ => Array.Empty<float>()).ToArray();
        /// <summary>Standardised inputs (inference only; training keeps its own copy for backward).</summary>
        public float[] Input = [];
        private int _capacity;

        public void Ensure(int batch)
        {
            if (batch <= _capacity) return;
            for (int l = 0; l < Hidden.Length; l++) Hidden[l] = new float[batch * net.Spec.Hidden[l]];
            Input = new float[batch * net.Spec.ObservationSize];
            _capacity = batch;
        }
    }
}

/// <summary>
/// Allocation-free forward evaluation for an actor: own activation buffers (separate from the training caches),
/// reading the net's current parameter values. Buffers grow on the first call at a larger batch only.
/// </summary>
public sealed class InferenceSession : IInferenceSession
{
    private readonly ActorCriticNet.Activations _activations;

    internal InferenceSession(ActorCriticNet net)
    {
        Net = net;
        _activations = new ActorCriticNet.Activations(net);
    }

    public ActorCriticNet Net { get; }

    IActorCriticNetwork IInferenceSession.Network => Net;

    /// <summary>Feed-forward: <paramref name="coreState"/> is ignored (it is empty for this backend).</summary>
    public void Evaluate(ReadOnlySpan<float> observations, int batch, Span<float> coreState,
        Span<float> policyOutputs, Span<float> values) => Evaluate(observations, batch, policyOutputs, values);

    public void Evaluate(ReadOnlySpan<float> observations, int batch, Span<float> policyOutputs, Span<float> values)
    {
        Net.CheckShapes(observations.Length, batch, policyOutputs.Length, values.Length);
        if (!Net.Spec.HasInputScaling)
        {
            Net.Run(_activations, observations, batch, policyOutputs, values);
            return;
        }
        _activations.Ensure(batch);
        var input = _activations.Input.AsSpan(0, batch * Net.Spec.ObservationSize);
        observations[..input.Length].CopyTo(input);
        Net.ScaleInput(input, batch);
        Net.Run(_activations, input, batch, policyOutputs, values);
    }
}
