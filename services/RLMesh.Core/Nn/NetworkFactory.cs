namespace RLMesh.Core.Nn;

/// <summary>Which engine computes a network (<c>--backend</c>).</summary>
public enum NetworkBackend
{
    /// <summary>Native for an MLP without LSTM on vector observations; torch otherwise (see <see cref="NetworkFactory.Resolve"/>).</summary>
    Auto,
    /// <summary>The in-process C# engine (<see cref="ActorCriticNet"/>): MLP torsos, no LSTM.</summary>
    Native,
    /// <summary>TorchSharp (libtorch): every torso, optional LSTM core. Present only when the host registers it.</summary>
    Torch,
}

/// <summary>The torso preset (<c>--net</c>).</summary>
public enum NetworkTorso
{
    /// <summary>Fully connected layers of <see cref="NetworkSpec.Hidden"/> widths over the flattened observation.</summary>
    Mlp,
    /// <summary>
    /// The MinAtar baseline torso for [10, 10, C] observations: Conv2d(C, 16, 3, stride 1) + ReLU, flatten,
    /// Linear(1024, 128) + ReLU (Young and Tian 2019).
    /// </summary>
    MinAtar,
    /// <summary>
    /// The Nature-DQN torso for [84, 84, C] frames: Conv(32, 8, s4), Conv(64, 4, s2), Conv(64, 3, s1), each + ReLU,
    /// flatten, Linear(512) + ReLU (Mnih et al. 2015; TorchBeast's AtariNet).
    /// </summary>
    Nature,
}

/// <summary>One engine that can build networks. A host registers the backends it ships with a <see cref="NetworkFactory"/>.</summary>
public interface INetworkBackend
{
    /// <summary><see cref="NetworkBackend.Native"/> or <see cref="NetworkBackend.Torch"/>.</summary>
    NetworkBackend Kind { get; }

    /// <summary>Why this backend cannot build <paramref name="spec"/> (a sentence for the user), or null when it can.</summary>
    string? Unsupported(NetworkSpec spec);

    /// <summary>
    /// A freshly initialised network for <paramref name="spec"/>; the same spec and seed give the same parameters.
    /// Throws <see cref="NetworkConfigurationException"/> when <see cref="Unsupported"/> is not null.
    /// </summary>
    IActorCriticNetwork Create(NetworkSpec spec, ulong seed);
}

/// <summary>A network that cannot be built as asked: unknown or unavailable backend, or a preset the backend lacks.</summary>
public sealed class NetworkConfigurationException(string message) : Exception(message);

/// <summary>The native engine as an <see cref="INetworkBackend"/>: MLP torsos without LSTM, any observation shape (flattened).</summary>
public sealed class NativeNetworkBackend : INetworkBackend
{
    public NetworkBackend Kind => NetworkBackend.Native;

    public string? Unsupported(NetworkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Torso != NetworkTorso.Mlp)
            return $"the {NetworkFactory.Name(spec.Torso)} torso needs the torch backend (the native backend builds MLPs only)";
        if (spec.LstmSize > 0)
            return "an LSTM core needs the torch backend (the native backend is feed-forward only)";
        return null;
    }

    public IActorCriticNetwork Create(NetworkSpec spec, ulong seed)
    {
        if (Unsupported(spec) is { } reason) throw new NetworkConfigurationException(reason);
        return ActorCriticNet.Create(spec, seed);
    }
}

/// <summary>
/// Builds networks from specs with the backends a host registered, resolving <see cref="NetworkBackend.Auto"/>.
/// Immutable; hosts create one and pass it to whatever builds networks. <see cref="NativeOnly"/> is the factory of a
/// build without TorchSharp.
/// </summary>
public sealed class NetworkFactory
{
    private readonly Dictionary<NetworkBackend, INetworkBackend> _backends = [];

    public NetworkFactory(IEnumerable<INetworkBackend> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        foreach (var backend in backends)
        {
            if (backend.Kind == NetworkBackend.Auto) throw new ArgumentException("a backend must be Native or Torch, not Auto");
            if (!_backends.TryAdd(backend.Kind, backend)) throw new ArgumentException($"backend {Name(backend.Kind)} registered twice");
        }
    }

    /// <summary>Only the native engine: what a build without the torch backend offers.</summary>
    public static NetworkFactory NativeOnly { get; } = new([new NativeNetworkBackend()]);

    /// <summary>True when <paramref name="backend"/> is registered (Auto: always).</summary>
    public bool Has(NetworkBackend backend) => backend == NetworkBackend.Auto || _backends.ContainsKey(backend);

    /// <summary>
    /// The backend that builds <paramref name="spec"/>: the spec's own when it names one; for Auto, native for an MLP
    /// without LSTM on vector observations, torch for conv torsos and LSTM cores, and for an MLP on image
    /// observations torch when registered, native otherwise.
    /// </summary>
    public NetworkBackend Resolve(NetworkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Backend != NetworkBackend.Auto) return spec.Backend;
        bool needsTorch = spec.Torso != NetworkTorso.Mlp || spec.LstmSize > 0;
        if (needsTorch) return NetworkBackend.Torch;
        bool vectorObservations = spec.ObservationShape.Length <= 1;
        return vectorObservations || !Has(NetworkBackend.Torch) ? NetworkBackend.Native : NetworkBackend.Torch;
    }

    /// <summary>Why <paramref name="spec"/> cannot be built here (a sentence for the user), or null when it can.</summary>
    public string? Problem(NetworkSpec spec)
    {
        var kind = Resolve(spec);
        if (!_backends.TryGetValue(kind, out var backend))
            return kind == NetworkBackend.Torch
                ? "torch backend not available in this build"
                : $"{Name(kind)} backend not available in this build";
        return backend.Unsupported(spec);
    }

    /// <summary>
    /// Builds <paramref name="spec"/> with the resolved backend. The returned network's <see cref="IActorCriticNetwork.Spec"/>
    /// names that backend (never Auto), so checkpoints and snapshots record what was built.
    /// </summary>
    public IActorCriticNetwork Create(NetworkSpec spec, ulong seed)
    {
        if (Problem(spec) is { } problem) throw new NetworkConfigurationException(problem);
        var kind = Resolve(spec);
        return _backends[kind].Create(spec with { Backend = kind }, seed);
    }

    /// <summary>The lower-case name used by flags, configuration and checkpoints.</summary>
    public static string Name(NetworkBackend backend) => backend switch
    {
        NetworkBackend.Auto => "auto",
        NetworkBackend.Native => "native",
        NetworkBackend.Torch => "torch",
        _ => throw new ArgumentOutOfRangeException(nameof(backend)),
    };

    /// <summary>The lower-case name used by flags, configuration and checkpoints.</summary>
    public static string Name(NetworkTorso torso) => torso switch
    {
        NetworkTorso.Mlp => "mlp",
        NetworkTorso.MinAtar => "minatar",
        NetworkTorso.Nature => "nature",
        _ => throw new ArgumentOutOfRangeException(nameof(torso)),
    };

    /// <summary>Parses auto|native|torch (case-insensitive); throws <see cref="NetworkConfigurationException"/> otherwise.</summary>
    public static NetworkBackend ParseBackend(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" => NetworkBackend.Auto,
        "native" => NetworkBackend.Native,
        "torch" => NetworkBackend.Torch,
        _ => throw new NetworkConfigurationException($"unknown network backend '{text}' (expected auto, native or torch)"),
    };

    /// <summary>Parses mlp|minatar|nature (case-insensitive); throws <see cref="NetworkConfigurationException"/> otherwise.</summary>
    public static NetworkTorso ParseTorso(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "mlp" => NetworkTorso.Mlp,
        "minatar" => NetworkTorso.MinAtar,
        "nature" => NetworkTorso.Nature,
        _ => throw new NetworkConfigurationException($"unknown network preset '{text}' (expected mlp, minatar or nature)"),
    };
}

/// <summary>
/// The part of a <see cref="NetworkSpec"/> that picks the architecture beyond the MLP shape: what checkpoints and weight
/// snapshots record so a runner or an evaluation builds the same network. <see cref="Default"/> (native MLP, no LSTM,
/// flat observations) is what artefacts written before these fields existed describe.
/// </summary>
public sealed record NetworkDescription(NetworkBackend Backend, NetworkTorso Torso, int LstmSize, int[] ObservationShape)
{
    /// <summary>What an artefact without a description holds: a native MLP over flat observations of <paramref name="observationSize"/>.</summary>
    public static NetworkDescription Default(int observationSize) => new(NetworkBackend.Native, NetworkTorso.Mlp, 0, [observationSize]);

    public static NetworkDescription Of(NetworkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new(spec.Backend, spec.Torso, spec.LstmSize, spec.ObservationShape);
    }

    /// <summary><paramref name="spec"/> with this description's backend, torso, LSTM size and observation shape.</summary>
    public NetworkSpec ApplyTo(NetworkSpec spec) =>
        spec with { Backend = Backend, Torso = Torso, LstmSize = LstmSize, ObservationShape = (int[])ObservationShape.Clone() };

    /// <summary>Same architecture (shape compared element-wise; Auto matches any backend).</summary>
    public bool SameArchitecture(NetworkDescription other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Torso == other.Torso && LstmSize == other.LstmSize && ObservationShape.AsSpan().SequenceEqual(other.ObservationShape)
            && (Backend == other.Backend || Backend == NetworkBackend.Auto || other.Backend == NetworkBackend.Auto);
    }

    public override string ToString() =>
        $"{NetworkFactory.Name(Backend)} {NetworkFactory.Name(Torso)}{(LstmSize > 0 ? $" + lstm {LstmSize}" : "")} on [{string.Join(", ", ObservationShape)}]";
}
