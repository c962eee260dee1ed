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
