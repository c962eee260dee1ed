using Google.Protobuf;
using Xunit;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Tests;

public sealed class SpaceSpecTests
{
    [Theory]
    [InlineData("MinAtar/Breakout-v1")]
    [InlineData("MinAtar/Seaquest-v1")]
    [InlineData("CartPole-v1")]
    [InlineData("Pendulum-v1")]
    public void ARegisteredEnvsSpacesComeBackEqualDtypeIncluded(string id)
    {
        var env = EnvRegistry.Make(id);
        foreach (var space in new[] { env.ObservationSpace, env.ActionSpace })
        {
            var back = RemoteProtocol.FromSpec(SpaceSpec.Parser.ParseFrom(RemoteProtocol.ToSpec(space).ToByteArray()));
            Assert.Equal(space, back);
            if (space is Box box)
            {
                Assert.Equal(box.DType, ((Box)back).DType);
                Assert.Equal(box.IsBinary, ((Box)back).IsBinary);
            }
        }
    }

    [Fact]
    public void AMinAtarFrameSpaceStaysUInt8SoItsUnrollsTravelAsBits()
    {
        var space = RemoteProtocol.FromSpec(RemoteProtocol.ToSpec(EnvRegistry.Make("MinAtar/Breakout-v1").ObservationSpace));
        Assert.Equal(BoxDType.UInt8, Assert.IsType<Box>(space).DType);
        Assert.Equal(ObservationEncoding.Bits, TrajectoryCodec.EncodingFor(space));
    }

    [Fact]
    public void ASpecWithoutADtypeIsFloat32AsOlderPeersMeantIt()
    {
        var spec = new SpaceSpec { Box = new BoxSpec { Low = { 0f, 0f }, High = { 1f, 1f }, Shape = { 2 } } };
        Assert.Equal(BoxDType.Float32, Assert.IsType<Box>(RemoteProtocol.FromSpec(spec)).DType);
    }

    [Fact]
    public void AnUnknownDtypeIsRejected()
    {
        var spec = new SpaceSpec { Box = new BoxSpec { Low = { 0f }, High = { 1f }, Shape = { 1 }, Dtype = (BoxElementType)9 } };
        var e = Assert.Throws<InvalidMessageException>(() => RemoteProtocol.FromSpec(spec));
        Assert.Contains("unknown box dtype 9", e.Reason);
    }

    [Fact]
    public void AUInt8SpecWithBoundsOutside0To255IsRejected()
    {
        var spec = new SpaceSpec { Box = new BoxSpec { Low = { 0f }, High = { 300f }, Shape = { 1 }, Dtype = BoxElementType.Uint8 } };
        var e = Assert.Throws<InvalidMessageException>(() => RemoteProtocol.FromSpec(spec));
        Assert.Contains("space spec is invalid", e.Reason);
    }
}
