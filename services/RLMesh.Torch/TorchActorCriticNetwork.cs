using RLMesh.Core;
using RLMesh.Core.Nn;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace RLMesh.Torch;

/// <summary>
/// An <see cref="IActorCriticNetwork"/> computed by libtorch: a torso preset (MLP, MinAtar, Nature) or a user's own
/// TorchSharp module, an optional LSTM core (LSTMCell's parameters, gate order and initialisation), a policy head and a
/// value head.
/// <para>The flat <see cref="Parameters"/> buffer stays the source of truth: the built-in layers' parameter tensors are
/// views of <c>Parameters.Values</c> itself (shared memory, no copy), so whatever an optimizer or a snapshot writes there
/// is what the next forward pass uses. A custom module's own tensors are refreshed from the buffer before each pass.
/// Backward runs libtorch's autograd from the explicit d(loss)/d(heads) and adds the resulting gradients into
/// <c>Parameters.Gradients</c>.</para>
/// </summary>
public sealed class TorchActorCriticNetwork : IActorCriticNetwork, IDisposable
{
    private readonly Torso _torso;
    private readonly CustomTorchTorso? _custom;
    private readonly int _lstm;
    private readonly int _actions;
    private readonly bool _gaussian;
    private readonly Tensor _flatValues;
    private readonly Tensor[] _parameters;
    private readonly int _torsoCount;

    private readonly HostBuffer _trainInput = new();
    private readonly HostBuffer _trainState = new();
    private readonly HostBuffer _trainResetMask = new();
    private readonly HostBuffer _policyGradient = new();
    private readonly HostBuffer _valueGradient = new();
    private Tensor? _policyOutput;
    private Tensor? _valueOutput;
    private int _lastRows = -1;

    private TorchActorCriticNetwork(NetworkSpec spec, CustomTorchTorso? custom)
    {
        spec.Validate();
        Spec = spec;
        _custom = custom;
        _lstm = spec.LstmSize;
        (_actions, _gaussian) = spec.Head switch
        {
            CategoricalHead c => (c.Actions, false),
            GaussianHead g => (g.ActionSize, true),
            _ => throw new NetworkConfigurationException($"the torch backend has no {spec.Head.GetType().Name}"),
        };
        _torso = custom is not null
            ? new CustomTorso(custom.CreateModule(spec), custom.OutputWidth, spec.ObservationShape)
            : spec.Torso switch
            {
                NetworkTorso.Mlp => new MlpTorso(spec.ObservationSize, spec.Hidden, spec.Activation),
                NetworkTorso.MinAtar => ConvTorso.MinAtar(spec.ObservationShape),
                NetworkTorso.Nature => ConvTorso.Nature(spec.ObservationShape),
                _ => throw new NetworkConfigurationException($"the torch backend has no torso {spec.Torso}"),
            };

        Layout = BuildLayout(spec, _torso, _lstm, _actions, _gaussian);
        _torsoCount = _torso.Layout.Count;
        Parameters = new ParameterBuffer(Layout.Select(p => (p.Name, p.Shape)));

        // Owned by the network, whatever dispose scope its creator runs in.
        _flatValues = from_array(Parameters.Values).DetachFromDisposeScope();
        _parameters = new Tensor[Layout.Count];
        for (int i = 0; i < Layout.Count; i++)
        {
            if (_torso is CustomTorso customTorso && i < _torsoCount)
            {
                _parameters[i] = customTorso.Parameters[i];
                continue;
            }
            var slice = Parameters.Slices[i];
            using var range = _flatValues.narrow(0, slice.Offset, slice.Length);
            using var view = range.view(slice.Shape.Select(d => (long)d).ToArray());
            // detach(): a leaf of its own that still aliases the buffer's memory.
            _parameters[i] = view.detach().requires_grad_(true).DetachFromDisposeScope();
        }
    }

    /// <summary>Builds <paramref name="spec"/> with a preset torso; the same spec and seed give the same parameters.</summary>
    public static TorchActorCriticNetwork Create(NetworkSpec spec, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var net = new TorchActorCriticNetwork(spec, custom: null);
        net.Initialize(seed);
        return net;
    }

    /// <summary>
    /// Builds <paramref name="spec"/> around a user's own torso module (spec.Torso and spec.Hidden are then ignored);
    /// core and heads are initialised from <paramref name="seed"/>, the torso keeps the module's own initial values.
    /// </summary>
    public static TorchActorCriticNetwork Create(NetworkSpec spec, ulong seed, CustomTorchTorso torso)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(torso);
        var net = new TorchActorCriticNetwork(spec, torso);
        net.Initialize(seed);
        return net;
    }

    public NetworkSpec Spec { get; }
    public NetworkBackend Backend => NetworkBackend.Torch;
    public ParameterBuffer Parameters { get; }
    public int PolicyOutputSize => Spec.PolicyOutputSize;

    /// <summary>Per column: the LSTM's hidden state h followed by its cell state c.</summary>
    public int CoreStateSize => 2 * _lstm;

    internal IReadOnlyList<TorchParameterSpec> Layout { get; }

    private static TorchParameterSpec[] BuildLayout(NetworkSpec spec, Torso torso, int lstm, int actions, bool gaussian)
    {
        var layout = new List<TorchParameterSpec>(torso.Layout);
        int width = torso.OutputWidth;
        if (lstm > 0)
        {
            layout.Add(new("lstm.weight_ih", [4 * lstm, width], lstm));
            layout.Add(new("lstm.weight_hh", [4 * lstm, lstm], lstm));
            layout.Add(new("lstm.bias_ih", [4 * lstm], lstm));
            layout.Add(new("lstm.bias_hh", [4 * lstm], lstm));
            width = lstm;
        }
        layout.Add(new("policy.weight", [width, actions], width, spec.PolicyGain));
        layout.Add(new("policy.bias", [actions], width, spec.PolicyGain));
        layout.Add(new("value.weight", [width, 1], width, spec.ValueGain));
        layout.Add(new("value.bias", [1], width, spec.ValueGain));
        if (gaussian) layout.Add(new("policy.log_std", [actions], 1));
        return layout.ToArray();
    }

    // Uniform in ±gain/sqrt(fanIn) in layout order, element by element: for an MLP exactly the draws of the native
    // engine's initialisation, so both backends start from the same weights for the same seed.
    private void Initialize(ulong seed)
    {
        var rng = new Rng(seed);
        for (int i = 0; i < Layout.Count; i++)
        {
            var entry = Layout[i];
            Span<float> values = Parameters.ValuesOf(Parameters.Slices[i]);
            if (_torso is CustomTorso custom && i < _torsoCount)
            {
                using var own = custom.Parameters[i].detach().contiguous();
                TorchTensors.Floats(own).CopyTo(values);
                continue;
            }
            if (entry.Name == "policy.log_std")
            {
                values.Fill(((GaussianHead)Spec.Head).InitialLogStd);
                continue;
            }
            double bound = entry.Gain / Math.Sqrt(entry.FanIn);
            foreach (ref float v in values) v = (float)rng.Uniform(-bound, bound);
        }
    }

    public void Forward(ReadOnlySpan<float> observations, int steps, int columns,
        ReadOnlySpan<float> initialCoreState, ReadOnlySpan<bool> episodeStarts,
        Span<float> policyOutputs, Span<float> values)
    {
        if (steps < 0 || columns < 0) throw new ArgumentOutOfRangeException(nameof(steps), "steps and columns must not be negative");
        int rows = checked(steps * columns);
        CheckRows(observations.Length, rows, policyOutputs.Length, values.Length);
        if (!initialCoreState.IsEmpty && initialCoreState.Length < columns * CoreStateSize)
            throw new ArgumentException($"Need {columns * CoreStateSize} core-state values.", nameof(initialCoreState));
        if (!episodeStarts.IsEmpty && episodeStarts.Length < rows)
            throw new ArgumentException($"Need {rows} episode-start flags.", nameof(episodeStarts));

        ReleaseTrainingGraph();
        RefreshCustomTorso();
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var input = _trainInput.Load(observations[..(rows * Spec.ObservationSize)], rows, Spec.ObservationSize);
        Tensor? state = _lstm > 0 && !initialCoreState.IsEmpty
            ? _trainState.Load(initialCoreState[..(columns * CoreStateSize)], columns, CoreStateSize)
            : null;
        Tensor? keep = null;
        if (_lstm > 0 && !episodeStarts.IsEmpty)
        {
            keep = _trainResetMask.Reserve(rows, rows, 1);
            Span<float> mask = _trainResetMask.Span(rows);
            for (int r = 0; r < rows; r++) mask[r] = episodeStarts[r] ? 0f : 1f;
        }
        var (policy, value, _) = Compute(input, steps, columns, state, keep);
        TorchTensors.CopyTo(policy, policyOutputs[..(rows * PolicyOutputSize)]);
        TorchTensors.CopyTo(value, values[..rows]);
        _policyOutput = policy.MoveToOuterDisposeScope();
        _valueOutput = value.MoveToOuterDisposeScope();
        _lastRows = rows;
    }

    /// <summary>Feed-forward shorthand over <paramref name="rows"/> independent rows (refused with an LSTM core).</summary>
    public void Forward(ReadOnlySpan<float> observations, int rows, Span<float> policyOutputs, Span<float> values)
    {
        if (CoreStateSize != 0)
            throw new InvalidOperationException("a recurrent network needs steps, columns, initial state and episode starts");
        Forward(observations, 1, rows, ReadOnlySpan<float>.Empty, ReadOnlySpan<bool>.Empty, policyOutputs, values);
    }

    public void Backward(ReadOnlySpan<float> dPolicyOutputs, ReadOnlySpan<float> dValues)
    {
        if (_policyOutput is null || _valueOutput is null) throw new InvalidOperationException("Backward needs a preceding Forward.");
        int rows = _lastRows;
        int p = PolicyOutputSize;
        if (dPolicyOutputs.Length < rows * p) throw new ArgumentException($"Need {rows * p} policy gradients.", nameof(dPolicyOutputs));
        if (dValues.Length < rows) throw new ArgumentException($"Need {rows} value gradients.", nameof(dValues));

        using (var scope = NewDisposeScope())
        {
            var dPolicy = _policyGradient.Load(dPolicyOutputs[..(rows * p)], rows, p);
            var dValue = _valueGradient.Load(dValues[..rows], rows);
            // The graph is kept until the next Forward, so Backward may run again for the same pass (as the native engine allows).
            autograd.backward([_policyOutput, _valueOutput], [dPolicy, dValue], retain_graph: true);
        }
        for (int i = 0; i < _parameters.Length; i++)
        {
            using var gradient = _parameters[i].grad;
            if (gradient is null) continue;
            Span<float> target = Parameters.GradientsOf(Parameters.Slices[i]);
            System.Numerics.Tensors.TensorPrimitives.Add(target, TorchTensors.Floats(gradient), target);
            gradient.zero_();
        }
    }

    public IActorCriticNetwork Clone()
    {
        var copy = new TorchActorCriticNetwork(Spec, _custom);
        Parameters.Values.CopyTo(copy.Parameters.Values, 0);
        Parameters.Gradients.CopyTo(copy.Parameters.Gradients, 0);
        return copy;
    }

    public IInferenceSession CreateInferenceSession() => new TorchInferenceSession(this);

    internal void CheckRows(int observations, int rows, int policyOutputs, int values)
    {
        if (observations < rows * Spec.ObservationSize) throw new ArgumentException($"Need {rows * Spec.ObservationSize} observation values.", nameof(observations));
        if (policyOutputs < rows * PolicyOutputSize) throw new ArgumentException($"Need {rows * PolicyOutputSize} policy outputs.", nameof(policyOutputs));
        if (values < rows) throw new ArgumentException($"Need {rows} values.", nameof(values));
    }

    /// <summary>A custom module owns its tensors: bring them up to the buffer's values before a pass.</summary>
    internal void RefreshCustomTorso()
    {
        if (_torso is not CustomTorso) return;
        for (int i = 0; i < _torsoCount; i++)
            Parameters.ValuesOf(Parameters.Slices[i]).CopyTo(TorchTensors.Floats(_parameters[i]));
    }

    /// <summary>
    /// The forward pass shared by training and acting over steps x columns rows (time-major). Returns policy outputs
    /// [rows, PolicyOutputSize], values [rows] and, with an LSTM core, the final state [columns, CoreStateSize].
    /// <paramref name="keep"/> ([rows, 1], 0 where an episode starts) zeroes a column's state before that row.
    /// </summary>
    internal (Tensor Policy, Tensor Value, Tensor? FinalState) Compute(Tensor observations, int steps, int columns, Tensor? state, Tensor? keep)
    {
        long rows = (long)steps * columns;
        Tensor x = observations;
        if (Spec.InputShift is not null)
        {
            using var shift = tensor(Spec.InputShift);
            using var scale = tensor(Spec.InputScale!);
            using var centred = x - shift;
            x = centred * scale;
        }
        ReadOnlySpan<Tensor> all = _parameters;
        Tensor features = _torso.Forward(x, all[.._torsoCount]);
        int next = _torsoCount;
        Tensor? finalState = null;
        if (_lstm > 0)
        {
            (features, finalState) = RunLstm(features, steps, columns, state, keep, all.Slice(next, 4));
            next += 4;
        }
        var policy = addmm(all[next + 1], features, all[next], beta: 1, alpha: 1);
        using var valueColumn = addmm(all[next + 3], features, all[next + 2], beta: 1, alpha: 1);
        var value = valueColumn.view(rows);
        if (_gaussian)
        {
            using var logStd = all[next + 4].expand(rows, _actions);
            using var means = policy;
            policy = cat([means, logStd], 1);
        }
        return (policy, value, finalState);
    }

    // LSTMCell, step by step: gates = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh split into input, forget, cell, output.
    private (Tensor Outputs, Tensor FinalState) RunLstm(Tensor features, int steps, int columns, Tensor? state, Tensor? keep, ReadOnlySpan<Tensor> p)
    {
        Tensor weightIh = p[0], weightHh = p[1], biasIh = p[2], biasHh = p[3];
        using var weightIhT = weightIh.t();
        using var weightHhT = weightHh.t();
        using var bias = biasIh + biasHh;
        Tensor h, c;
        if (state is null)
        {
            h = zeros(columns, _lstm);
            c = zeros(columns, _lstm);
        }
        else
        {
            h = state.narrow(1, 0, _lstm);
            c = state.narrow(1, _lstm, _lstm);
        }
        var outputs = new Tensor[steps];
        for (int t = 0; t < steps; t++)
        {
            if (keep is not null)
            {
                using var k = keep.narrow(0, (long)t * columns, columns);
                h = h * k;
                c = c * k;
            }
            using var input = features.narrow(0, (long)t * columns, columns);
            using var fromInput = addmm(bias, input, weightIhT, beta: 1, alpha: 1);
            using var gates = addmm(fromInput, h, weightHhT, beta: 1, alpha: 1);
            var chunks = gates.chunk(4, 1);
            using var i = chunks[0].sigmoid();
            using var f = chunks[1].sigmoid();
            using var g = chunks[2].tanh();
            using var o = chunks[3].sigmoid();
            foreach (var chunk in chunks) chunk.Dispose();
            using var kept = f * c;
            using var added = i * g;
            c = kept + added;
            using var squashed = c.tanh();
            h = o * squashed;
            outputs[t] = h;
        }
        var all = cat(outputs, 0);
        var finalState = cat([h, c], 1);
        return (all, finalState);
    }

    private void ReleaseTrainingGraph()
    {
        _policyOutput?.Dispose();
        _valueOutput?.Dispose();
        _policyOutput = null;
        _valueOutput = null;
        _lastRows = -1;
    }

    public void Dispose()
    {
        ReleaseTrainingGraph();
        foreach (var buffer in new[] { _trainInput, _trainState, _trainResetMask, _policyGradient, _valueGradient }) buffer.Dispose();
        if (_torso is CustomTorso custom) custom.Module.Dispose();
        for (int i = _torso is CustomTorso ? _torsoCount : 0; i < _parameters.Length; i++) _parameters[i].Dispose();
        _flatValues.Dispose();
    }
}

/// <summary>
/// A user's own TorchSharp torso: <paramref name="CreateModule"/> builds a fresh module for a spec (called again for
/// every clone), mapping [rows, ..ObservationShape] to [rows, <paramref name="OutputWidth"/>].
/// </summary>
public sealed record CustomTorchTorso(Func<NetworkSpec, nn.Module<Tensor, Tensor>> CreateModule, int OutputWidth);
