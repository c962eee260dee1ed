using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

public class NetworkFactoryTests
{
    private static NetworkSpec Vector(int size = 4) => new(size, [8], Activation.Tanh, new CategoricalHead(2));

    private static NetworkSpec Image() =>
        new(10 * 10 * 4, [8], Activation.ReLU, new CategoricalHead(6)) { ObservationShape = [10, 10, 4] };

    /// <summary>Stands in for the TorchSharp backend: accepts every spec and records what it was asked to build.</summary>
    private sealed class RecordingTorchBackend : INetworkBackend
    {
        public List<NetworkSpec> Built { get; } = [];
        public NetworkBackend Kind => NetworkBackend.Torch;
        public string? Unsupported(NetworkSpec spec) => null;
        public IActorCriticNetwork Create(NetworkSpec spec, ulong seed)
        {
            Built.Add(spec);
            // A native MLP of the same shape is enough to check the factory's plumbing.
            return ActorCriticNet.Create(spec with { Torso = NetworkTorso.Mlp, LstmSize = 0 }, seed);
        }
    }

    [Fact]
    public void AutoPicksNativeForAnMlpOnVectorObservations()
    {
        var net = NetworkFactory.NativeOnly.Create(Vector(), seed: 1);
        Assert.Equal(NetworkBackend.Native, net.Backend);
        Assert.Equal(NetworkBackend.Native, net.Spec.Backend);
        Assert.Equal(0, net.CoreStateSize);
    }

    [Theory]
    [InlineData(NetworkTorso.MinAtar, 0)]
    [InlineData(NetworkTorso.Nature, 0)]
    [InlineData(NetworkTorso.Mlp, 64)]
    public void AutoNeedsTorchForConvTorsosAndLstmCoresAndSaysItIsMissing(NetworkTorso torso, int lstm)
    {
        var spec = Image() with { Torso = torso, LstmSize = lstm };
        Assert.Equal(NetworkBackend.Torch, NetworkFactory.NativeOnly.Resolve(spec));
        Assert.Equal("torch backend not available in this build", NetworkFactory.NativeOnly.Problem(spec));
        var error = Assert.Throws<NetworkConfigurationException>(() => NetworkFactory.NativeOnly.Create(spec, 1));
        Assert.Equal("torch backend not available in this build", error.Message);
    }

    [Fact]
    public void AnMlpOnImageObservationsUsesTorchWhenRegisteredAndNativeOtherwise()
    {
        Assert.Equal(NetworkBackend.Native, NetworkFactory.NativeOnly.Resolve(Image()));
        var torch = new RecordingTorchBackend();
        var factory = new NetworkFactory([new NativeNetworkBackend(), torch]);
        Assert.Equal(NetworkBackend.Torch, factory.Resolve(Image()));
        Assert.Equal(NetworkBackend.Native, factory.Resolve(Vector()));
        factory.Create(Image(), 3);
        Assert.Equal(NetworkBackend.Torch, Assert.Single(torch.Built).Backend);
    }

    [Theory]
    [InlineData(NetworkTorso.MinAtar, 0, "minatar torso needs the torch backend")]
    [InlineData(NetworkTorso.Mlp, 32, "LSTM core needs the torch backend")]
    public void NativeRefusesTorchOnlyPresetsWithAClearReason(NetworkTorso torso, int lstm, string reason)
    {
        var spec = Image() with { Backend = NetworkBackend.Native, Torso = torso, LstmSize = lstm };
        Assert.Contains(reason, NetworkFactory.NativeOnly.Problem(spec));
        Assert.Throws<NetworkConfigurationException>(() => NetworkFactory.NativeOnly.Create(spec, 1));
    }

    [Fact]
    public void NativeFlattensImageObservationsForAnMlp()
    {
        var net = NetworkFactory.NativeOnly.Create(Image() with { Backend = NetworkBackend.Native }, 2);
        Assert.Equal([10, 10, 4], net.Spec.ObservationShape);
        var policy = new float[3 * 6];
        var values = new float[3];
        net.Forward(new float[3 * 400], 3, policy, values);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AShapeThatDoesNotMultiplyToTheObservationSizeIsRefused()
    {
        var spec = Vector(12) with { ObservationShape = [3, 5] };
        var error = Assert.Throws<ArgumentException>(spec.Validate);
        Assert.Contains("[3, 5]", error.Message);
    }

    [Fact]
    public void RegisteringABackendTwiceOrAsAutoIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new NetworkFactory([new NativeNetworkBackend(), new NativeNetworkBackend()]));
    }

    [Theory]
    [InlineData("AUTO", NetworkBackend.Auto)]
    [InlineData("native", NetworkBackend.Native)]
    [InlineData(" torch ", NetworkBackend.Torch)]
    public void BackendNamesParseAndRoundTrip(string text, NetworkBackend expected)
    {
        Assert.Equal(expected, NetworkFactory.ParseBackend(text));
        Assert.Equal(expected, NetworkFactory.ParseBackend(NetworkFactory.Name(expected)));
    }

    [Fact]
    public void UnknownNamesAreClearErrors()
    {
        Assert.Contains("expected auto, native or torch", Assert.Throws<NetworkConfigurationException>(() => NetworkFactory.ParseBackend("cuda")).Message);
        Assert.Contains("expected mlp, minatar or nature", Assert.Throws<NetworkConfigurationException>(() => NetworkFactory.ParseTorso("resnet")).Message);
    }

    [Fact]
    public void TheSequenceForwardOfAFeedForwardNetworkEqualsTheRowForward()
    {
        IActorCriticNetwork net = NetworkFactory.NativeOnly.Create(Vector(), 5);
        float[] obs = GradCheck.Random(7, 3 * 2 * 4, -1, 1);
        var p1 = new float[6 * 2]; var v1 = new float[6];
        var p2 = new float[6 * 2]; var v2 = new float[6];
        net.Forward(obs, steps: 3, columns: 2, ReadOnlySpan<float>.Empty, new bool[6] { false, true, false, false, true, false }, p1, v1);
        net.Forward(obs, 6, p2, v2);
        Assert.Equal(p2, p1);
        Assert.Equal(v2, v1);
        var session = net.CreateInferenceSession();
        var p3 = new float[6 * 2]; var v3 = new float[6];
        session.Evaluate(obs, 6, Span<float>.Empty, p3, v3);
        Assert.Equal(p2, p3);
        Assert.Same(net, session.Network);
    }
}
