using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using Xunit;

namespace RLMesh.Core.Tests.Data;

public class PackedObservationCodecTests
{
    private static Gen<(int FrameSize, float[] Frames)> Frames(int maxValue)
        => Gen.Choose(1, 1000).SelectMany(size => Gen.Choose(0, 4).SelectMany(count =>
            Gen.Choose(0, maxValue).ArrayOf(size * count).Select(values => (size, Array.ConvertAll(values, v => (float)v)))));

    [Fact]
    public void BitFramesRoundTrip()
    {
        Prop.ForAll(Arb.From(Frames(1)), input =>
        {
            var codec = new PackedObservationCodec(input.FrameSize, PackedObservationFormat.Bits);
            var encoded = new byte[codec.EncodedLength(input.Frames.Length / input.FrameSize)];
            codec.Encode(input.Frames, encoded);
            var decoded = new float[input.Frames.Length];
            codec.Decode(encoded, decoded);
            return decoded.AsSpan().SequenceEqual(input.Frames) && encoded.Length == input.Frames.Length / input.FrameSize * ((input.FrameSize + 7) / 8);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ByteFramesRoundTrip()
    {
        Prop.ForAll(Arb.From(Frames(255)), input =>
        {
            var codec = new PackedObservationCodec(input.FrameSize, PackedObservationFormat.Bytes);
            var encoded = new byte[codec.EncodedLength(input.Frames.Length / input.FrameSize)];
            codec.Encode(input.Frames, encoded);
            var decoded = new float[input.Frames.Length];
            codec.Decode(encoded, decoded);
            return decoded.AsSpan().SequenceEqual(input.Frames);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void EachFrameIsEncodedOnItsOwnBytes()
    {
        // A batch encodes to the concatenation of its frames' encodings, so it can be split without decoding.
        Prop.ForAll(Arb.From(Frames(1)), input =>
        {
            var codec = new PackedObservationCodec(input.FrameSize, PackedObservationFormat.Bits);
            int count = input.Frames.Length / input.FrameSize;
            var whole = new byte[codec.EncodedLength(count)];
            codec.Encode(input.Frames, whole);
            for (int f = 0; f < count; f++)
            {
                var one = new byte[codec.BytesPerFrame];
                codec.Encode(input.Frames.AsSpan(f * input.FrameSize, input.FrameSize), one);
                if (!whole.AsSpan(f * codec.BytesPerFrame, codec.BytesPerFrame).SequenceEqual(one)) return false;
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void AMinAtarFrameMatchesTheReferencePacking()
    {
        var env = EnvRegistry.Make("MinAtar/Freeway-v1");
        var obs = new float[env.ObservationSize];
        env.Reset(0, obs);
        var codec = PackedObservationCodec.For(env.ObservationSpace);
        Assert.Equal(PackedObservationFormat.Bits, codec.Format);
        Assert.Equal(88, codec.BytesPerFrame); // 700 bits, as np.packbits pads them
        var encoded = new byte[codec.BytesPerFrame];
        codec.Encode(obs, encoded);
        Assert.Equal(ObservationBits.PackToHex(obs), Convert.ToHexStringLower(encoded));
    }

    [Fact]
    public void UnpackableInputIsAClearError()
    {
        Assert.Throws<ArgumentException>(() => PackedObservationCodec.For(EnvRegistry.Spec("CartPole-v1").ObservationSpace));
        Assert.Equal(PackedObservationFormat.Bytes, PackedObservationCodec.For(new Box(0f, 255f, 3) { DType = BoxDType.UInt8 }).Format);
        var bits = new PackedObservationCodec(4, PackedObservationFormat.Bits);
        Assert.Throws<ArgumentException>(() => bits.Encode([0f, 1f, 2f, 0f], new byte[1]));
        Assert.Throws<ArgumentException>(() => bits.Encode([0f, 1f, 1f], new byte[1])); // not whole frames
        var bytes = new PackedObservationCodec(2, PackedObservationFormat.Bytes);
        Assert.Throws<ArgumentException>(() => bytes.Encode([0f, 256f], new byte[2]));
        Assert.Throws<ArgumentException>(() => bytes.Encode([0.5f, 1f], new byte[2]));
        Assert.Throws<ArgumentException>(() => bytes.Decode(new byte[3], new float[2]));
    }
}
