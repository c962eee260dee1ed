using RLMesh.Core.Nn;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace RLMesh.Torch;

/// <summary>
/// Acting for a <see cref="TorchActorCriticNetwork"/>: its own input and state buffers, no autograd (no_grad plus
/// libtorch's inference mode), parameters read from the network's flat buffer at every call.
/// </summary>
internal sealed class TorchInferenceSession(TorchActorCriticNetwork network) : IInferenceSession, IDisposable
{
    private readonly HostBuffer _input = new();
    private readonly HostBuffer _state = new();

    public IActorCriticNetwork Network => network;

    public void Evaluate(ReadOnlySpan<float> observations, int batch, Span<float> coreState,
        Span<float> policyOutputs, Span<float> values)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch));
        network.CheckRows(observations.Length, batch, policyOutputs.Length, values.Length);
        int stateSize = network.CoreStateSize;
        if (stateSize > 0 && coreState.Length < batch * stateSize)
            throw new ArgumentException($"Need {batch * stateSize} core-state values.", nameof(coreState));

        network.RefreshCustomTorso();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var inference = inference_mode();
        int observationSize = network.Spec.ObservationSize;
        var input = _input.Load(observations[..(batch * observationSize)], batch, observationSize);
        Tensor? state = stateSize > 0 ? _state.Load(coreState[..(batch * stateSize)], batch, stateSize) : null;
        var (policy, value, finalState) = network.Compute(input, 1, batch, state, keep: null);
        TorchTensors.CopyTo(policy, policyOutputs[..(batch * network.PolicyOutputSize)]);
        TorchTensors.CopyTo(value, values[..batch]);
        if (finalState is not null) TorchTensors.CopyTo(finalState, coreState[..(batch * stateSize)]);
    }

    public void Dispose()
    {
        _input.Dispose();
        _state.Dispose();
    }
}
