using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace RLMesh.Examples;

/// <summary>
/// Bring your own network: a TorchSharp module of the user's as the torso of an IMPALA agent. RLMesh adds the policy
/// and value heads (and an LSTM core with <c>LstmSize</c>), keeps every parameter in its flat buffer, and trains it
/// with the embedded runtime exactly as it trains its presets.
/// </summary>
public static class CustomTorso
{
    /// <summary>A two-layer ReLU torso of <paramref name="width"/> units; any module mapping [rows, ..shape] to [rows, width] works.</summary>
    public static CustomTorchTorso TwoLayerRelu(int width) => new(
        spec => nn.Sequential(
            ("fc1", nn.Linear(spec.ObservationSize, width)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(width, width)), ("relu2", nn.ReLU())),
        OutputWidth: width);

    public static Task<TrainingResult> TrainAsync(string envId, ulong seed, long maxFrames, CancellationToken cancellationToken = default)
    {
        var options = TrainingOptions.ForEnvironment(envId) with { Seed = seed, MaxFrames = maxFrames, Backend = NetworkBackend.Torch };
        var networks = new NetworkFactory([new NativeNetworkBackend(), new TorchNetworkBackend(new TorchOptions(), TwoLayerRelu(64))]);
        return new EmbeddedTrainer(options, networks: networks).RunAsync(null, cancellationToken);
    }
}
