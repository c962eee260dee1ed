using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Runtime;

public class CheckpointTests
{
    private static Checkpoint Sample(PolicyHead head)
    {
        var spec = new NetworkSpec(4, [8, 8], Activation.Tanh, head);
        var net = ActorCriticNet.Create(spec, 42);
        return new Checkpoint("CartPole-v1", "impala", spec, 17, 12345, 42, "RmsProp",
            net.Parameters.Values.ToArray(), [0.5f, 1.5f, -2f]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CheckpointRoundTripsExactly(bool gaussian)
    {
        var original = Sample(gaussian ? new GaussianHead(1, -0.5f) : new CategoricalHead(2));
        using var stream = new MemoryStream();
        original.WriteTo(stream);
        stream.Position = 0;
        var loaded = Checkpoint.ReadFrom(stream);

        Assert.Equal(original.Version, loaded.Version);
        Assert.Equal(original.Frames, loaded.Frames);
        Assert.Equal(original.Spec.Head, loaded.Spec.Head);
        Assert.Equal(original.Spec.Hidden, loaded.Spec.Hidden);
        Assert.Equal(original.Parameters, loaded.Parameters);
        Assert.Equal(original.OptimizerState, loaded.OptimizerState);
        Assert.Equal(original.Parameters, loaded.CreateNetwork().Parameters.Values.ToArray());
    }

    [Fact]
    public void TheNetworkDescriptionRoundTrips()
    {
        var spec = new NetworkSpec(400, [8], Activation.ReLU, new CategoricalHead(6))
        {
            Backend = NetworkBackend.Torch, Torso = NetworkTorso.MinAtar, LstmSize = 64, ObservationShape = [10, 10, 4],
        };
        var original = new Checkpoint("MinAtar/Breakout-v1", "impala", spec, 3, 100, 7, "RmsProp", [1f, 2f, 3f], []);
        using var stream = new MemoryStream();
        original.WriteTo(stream);
        stream.Position = 0;
        var loaded = Checkpoint.ReadFrom(stream);

        Assert.Equal(NetworkBackend.Torch, loaded.Spec.Backend);
        Assert.Equal(NetworkTorso.MinAtar, loaded.Spec.Torso);
        Assert.Equal(64, loaded.Spec.LstmSize);
        Assert.Equal([10, 10, 4], loaded.Spec.ObservationShape);
        // This build has no torch backend: the checkpoint says which one it needs instead of building another network.
        var error = Assert.Throws<NetworkConfigurationException>(() => loaded.CreateNetwork());
        Assert.Equal("torch backend not available in this build", error.Message);
    }

    [Fact]
    public void ACheckpointWrittenBeforeNetworkDescriptionsLoadsAsANativeMlp()
    {
        var spec = new NetworkSpec(4, [8], Activation.Tanh, new CategoricalHead(2));
        var parameters = ActorCriticNet.Create(spec, 1).Parameters.Values.ToArray();
        string header = "{\"env_id\":\"CartPole-v1\",\"algorithm\":\"impala\",\"observation_size\":4,\"hidden\":[8]," +
            "\"activation\":\"Tanh\",\"head\":\"categorical\",\"head_size\":2,\"initial_log_std\":0,\"version\":5," +
            $"\"frames\":10,\"seed\":1,\"optimizer_kind\":\"RmsProp\",\"parameter_count\":{parameters.Length},\"optimizer_state_count\":0}}";
        var loaded = Checkpoint.ReadFrom(new MemoryStream(LegacyFile(header, parameters)));

        Assert.Equal(NetworkBackend.Native, loaded.Spec.Backend);
        Assert.Equal(NetworkTorso.Mlp, loaded.Spec.Torso);
        Assert.Equal(0, loaded.Spec.LstmSize);
        Assert.Equal([4], loaded.Spec.ObservationShape);
        var net = loaded.CreateNetwork();
        Assert.Equal(NetworkBackend.Native, net.Backend);
        Assert.Equal(parameters, net.Parameters.Values);
    }

    [Fact]
    public void AnUnknownTorsoInAHeaderIsAnInvalidCheckpoint()
    {
        string header = "{\"env_id\":\"CartPole-v1\",\"algorithm\":\"impala\",\"observation_size\":4,\"hidden\":[8]," +
            "\"activation\":\"Tanh\",\"head\":\"categorical\",\"head_size\":2,\"initial_log_std\":0,\"version\":5," +
            "\"frames\":10,\"seed\":1,\"optimizer_kind\":\"RmsProp\",\"parameter_count\":0,\"optimizer_state_count\":0,\"net\":\"resnet\"}";
        var error = Assert.Throws<InvalidCheckpointException>(() => Checkpoint.ReadFrom(new MemoryStream(LegacyFile(header, []))));
        Assert.Contains("resnet", error.Message);
    }

    // The file layout by hand (magic, header length, JSON, float32 parameters, SHA-256), as older builds wrote it.
    private static byte[] LegacyFile(string header, float[] parameters)
    {
        using var body = new MemoryStream();
        body.Write("RLMCKPT1"u8);
        byte[] json = Encoding.UTF8.GetBytes(header);
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, json.Length);
        body.Write(length);
        body.Write(json);
        var value = new byte[4];
        foreach (float p in parameters)
        {
            BinaryPrimitives.WriteSingleLittleEndian(value, p);
            body.Write(value);
        }
        byte[] content = body.ToArray();
        return [.. content, .. SHA256.HashData(content)];
    }

    [Fact]
    public void CorruptOrTruncatedCheckpointIsNeverLoaded()
    {
        using var stream = new MemoryStream();
        Sample(new CategoricalHead(2)).WriteTo(stream);
        byte[] bytes = stream.ToArray();

        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x10;
        Assert.Throws<InvalidCheckpointException>(() => Checkpoint.ReadFrom(new MemoryStream(flipped)));
        Assert.Throws<InvalidCheckpointException>(() => Checkpoint.ReadFrom(new MemoryStream(bytes[..^1])));
        Assert.Throws<InvalidCheckpointException>(() => Checkpoint.ReadFrom(new MemoryStream(bytes[..10])));
        Assert.Throws<InvalidCheckpointException>(() => Checkpoint.ReadFrom(new MemoryStream("hello"u8.ToArray())));
    }
}
