using RLMesh.Core.Nn;
using TorchSharp;

namespace RLMesh.Torch;

/// <summary>
/// The TorchSharp backend for a <see cref="NetworkFactory"/>: every torso preset, with or without an LSTM core,
/// categorical and Gaussian heads. libtorch (1.5-2 s to load) is loaded and configured with <see cref="TorchOptions"/>
/// on the first network built, not when the backend is registered, so hosts that never build a torch network never pay.
/// </summary>
public sealed class TorchNetworkBackend : INetworkBackend
{
    private readonly Lock _configure = new();
    private bool _configured;

    /// <param name="options">libtorch settings, applied when the first network is built.</param>
    /// <param name="customTorso">A user's own torso: every network this backend builds uses it instead of the
    /// spec's preset (heads, LSTM core and the flat buffer stay as for the presets).</param>
    public TorchNetworkBackend(TorchOptions options, CustomTorchTorso? customTorso = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        CustomTorso = customTorso;
    }

    public TorchNetworkBackend() : this(new TorchOptions()) { }

    public TorchOptions Options { get; }

    public CustomTorchTorso? CustomTorso { get; }

    public NetworkBackend Kind => NetworkBackend.Torch;

    public string? Unsupported(NetworkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int[] shape = spec.ObservationShape;
        string preset = NetworkFactory.Name(spec.Torso);
        if (CustomTorso is not null) return null; // the user's module decides what it accepts
        return spec.Torso switch
        {
            NetworkTorso.MinAtar or NetworkTorso.Nature when shape.Length != 3 =>
                $"the {preset} torso needs image observations [height, width, channels], got [{string.Join(", ", shape)}]",
            NetworkTorso.MinAtar when shape[0] < 3 || shape[1] < 3 =>
                $"the minatar torso's 3x3 convolution does not fit a {shape[0]}x{shape[1]} observation",
            NetworkTorso.Nature when shape[0] < 36 || shape[1] < 36 =>
                $"the nature torso needs frames of at least 36x36 (84x84 intended), got {shape[0]}x{shape[1]}",
            _ => null,
        };
    }

    public IActorCriticNetwork Create(NetworkSpec spec, ulong seed)
    {
        if (Unsupported(spec) is { } reason) throw new NetworkConfigurationException(reason);
        Configure();
        return CustomTorso is null ? TorchActorCriticNetwork.Create(spec, seed) : TorchActorCriticNetwork.Create(spec, seed, CustomTorso);
    }

    private void Configure()
    {
        lock (_configure)
        {
            if (_configured) return;
            // libtorch has one intra-op pool per process: every backend of a process asks for the configured size.
            torch.set_num_threads(Options.IntraOpThreads);
            _configured = true;
        }
    }
}
