namespace RLMesh.Core.Nn;

/// <summary>
/// The network every algorithm and every acting path drives: a torso (MLP, or a conv stack for image
/// observations), an optional LSTM core, a policy head and a scalar value head, with all parameters in one
/// flat <see cref="ParameterBuffer"/>. The native engine (<see cref="ActorCriticNet"/>) and the TorchSharp
/// backend both implement it; callers never depend on which one they hold.
/// <para><b>Parameters.</b> <see cref="Parameters"/> is the source of truth for weights: optimizers, snapshots,
/// checksums, checkpoints and APS read and write <c>Parameters.Values</c> directly between calls, so a backend
/// must read the current values at every <see cref="Forward"/> and every session evaluation, and must add its
/// gradients into <c>Parameters.Gradients</c> on <see cref="Backward"/>. The layout (slice names, shapes, order)
/// is a pure function of <see cref="Spec"/> and the backend, so two networks built from the same spec exchange
/// snapshots.</para>
/// <para><b>Layouts.</b> Everything is float32, row-major, time-major: row r = t * columns + b. An observation
/// row is <see cref="NetworkSpec.ObservationSize"/> raw values in the order of
/// <see cref="NetworkSpec.ObservationShape"/> (images channels-last, [H, W, C], as the environment emits them);
/// the network applies the spec's input standardisation itself. A policy row is
/// <see cref="PolicyOutputSize"/> values (logits, or means then log-stds); a value row is one float.</para>
/// <para><b>Recurrent state.</b> A network with an LSTM core carries <see cref="CoreStateSize"/> floats per
/// environment column (0 for feed-forward networks, which ignore every state and episode-start argument).
/// A state of all zeros is the state at an episode's start.</para>
/// <para>Not thread-safe: one network (and one session) per thread. Methods take spans and allocate nothing
/// once their buffers have grown to the largest batch seen.</para>
/// </summary>
public interface IActorCriticNetwork
{
    /// <summary>The description this network was built from (what checkpoints and snapshots record).</summary>
    NetworkSpec Spec { get; }

    /// <summary>Which backend computes this network: <see cref="NetworkBackend.Native"/> or <see cref="NetworkBackend.Torch"/>, never Auto.</summary>
    NetworkBackend Backend { get; }

    /// <summary>All parameters as one flat float32 buffer, with a same-sized gradient buffer.</summary>
    ParameterBuffer Parameters { get; }

    /// <summary>Floats in one observation row (<c>Spec.ObservationSize</c>, the product of its shape).</summary>
    int ObservationSize => Spec.ObservationSize;

    /// <summary>Width of one policy-output row (<c>Spec.PolicyOutputSize</c>).</summary>
    int PolicyOutputSize { get; }

    /// <summary>Floats of recurrent state per environment column; 0 for a feed-forward network.</summary>
    int CoreStateSize { get; }

    /// <summary>
    /// Training forward pass over <paramref name="steps"/> x <paramref name="columns"/> observation rows
    /// (time-major, [steps, columns, ObservationSize]) into policyOutputs [steps * columns, PolicyOutputSize]
    /// and values [steps * columns]. Keeps what <see cref="Backward"/> needs.
    /// <para>A recurrent network runs each column's core from <paramref name="initialCoreState"/>
    /// ([columns, CoreStateSize]: the state before row t = 0) and sets a column's state to zero before every
    /// row whose <paramref name="episodeStarts"/> flag ([steps * columns]) is set, as TorchBeast's
    /// <c>--use_lstm</c> does; the learner replays an unroll of T + 1 observation rows this way. Both may be
    /// empty for a feed-forward network (and for a recurrent one: zero state, no resets).</para>
    /// <para>Feed-forward networks treat the rows as independent, so a caller may pass any rows (e.g. a
    /// shuffled minibatch) as <c>steps = 1, columns = rows</c>.</para>
    /// </summary>
    void Forward(ReadOnlySpan<float> observations, int steps, int columns,
        ReadOnlySpan<float> initialCoreState, ReadOnlySpan<bool> episodeStarts,
        Span<float> policyOutputs, Span<float> values);

    /// <summary>
    /// Adds d(loss)/d(parameters) into <c>Parameters.Gradients</c> (callers zero them first) for the most recent
    /// <see cref="Forward"/>, given d(loss)/d(policyOutputs) and d(loss)/d(values) with that call's row layout.
    /// Recurrent networks backpropagate through time over the whole forward sequence (not into the initial state).
    /// For a Gaussian head the log-std columns' gradients are summed over the rows into its state-independent parameter.
    /// </summary>
    void Backward(ReadOnlySpan<float> dPolicyOutputs, ReadOnlySpan<float> dValues);

    /// <summary>A deep copy: same spec and backend, copied parameter values and gradients, fresh workspaces.</summary>
    IActorCriticNetwork Clone();

    /// <summary>
    /// An evaluator for acting with its own buffers (separate from the training caches), reading this network's
    /// current parameter values at every call. Safe to use on another thread than the network's training calls
    /// only while no optimizer step writes the values (the runtimes guarantee that).
    /// </summary>
    IInferenceSession CreateInferenceSession();

    /// <summary>
    /// Feed-forward shorthand for <see cref="Forward"/> over <paramref name="rows"/> independent rows.
    /// Throws for a recurrent network, whose rows are sequences and need their state.
    /// </summary>
    void Forward(ReadOnlySpan<float> observations, int rows, Span<float> policyOutputs, Span<float> values)
    {
        if (CoreStateSize != 0)
            throw new InvalidOperationException("a recurrent network needs steps, columns, initial state and episode starts");
        Forward(observations, 1, rows, ReadOnlySpan<float>.Empty, ReadOnlySpan<bool>.Empty, policyOutputs, values);
    }
}

/// <summary>
/// One acting step for a batch of environments: observations [batch, ObservationSize] in, policy outputs and
/// values out, allocation-free once its buffers have grown to the largest batch seen.
/// </summary>
public interface IInferenceSession
{
    IActorCriticNetwork Network { get; }

    /// <summary>
    /// Evaluates <paramref name="batch"/> environments. <paramref name="coreState"/> ([batch, CoreStateSize], empty for
    /// a feed-forward network) holds each environment's state before this step on entry and after it on return; the
    /// caller zeroes an environment's slice when its episode starts.
    /// </summary>
    void Evaluate(ReadOnlySpan<float> observations, int batch, Span<float> coreState,
        Span<float> policyOutputs, Span<float> values);

    /// <summary>Feed-forward shorthand for <see cref="Evaluate(ReadOnlySpan{float}, int, Span{float}, Span{float}, Span{float})"/>.</summary>
    void Evaluate(ReadOnlySpan<float> observations, int batch, Span<float> policyOutputs, Span<float> values)
    {
        if (Network.CoreStateSize != 0)
            throw new InvalidOperationException("a recurrent network's session needs the per-environment core state");
        Evaluate(observations, batch, Span<float>.Empty, policyOutputs, values);
    }
}
