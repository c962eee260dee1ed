using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;

namespace RLMesh.Messaging.Tests;

public sealed class ObservationEncodingTests
{
    private static readonly Gen<(Trajectory Trajectory, ObservationEncoding Encoding)> PackableTrajectories =
        from steps in Gen.Choose(1, 9)
        from envs in Gen.Choose(1, 5)
        from obs in Gen.Choose(1, 21)
        from seed in Gen.Choose(0, int.MaxValue)
        from encoding in Gen.Elements(ObservationEncoding.Bits, ObservationEncoding.Uint8)
        select (Packable(TrajectoryCodecTests.Sample(steps, envs, obs, 2, 3, seed, seed % 1000), encoding, seed), encoding);

    private static readonly Gen<(List<Trajectory> Parts, ObservationEncoding Encoding)> PackableParts =
        from steps in Gen.Choose(1, 6)
        from obs in Gen.Choose(1, 19)
        from count in Gen.Choose(1, 4)
        from envs in Gen.ListOf(Gen.Choose(1, 7), count)
        from seed in Gen.Choose(0, 1_000_000)
        from encoding in Gen.Elements(ObservationEncoding.Bits, ObservationEncoding.Uint8)
        select (envs.Select((b, i) => Packable(TrajectoryCodecTests.Sample(steps, b, obs, 1, 2, seed + i, seed % 100 + i), encoding, seed + i)).ToList(),
            encoding);

    [Fact]
    public void PackedObservationsRoundTripExactlyThroughBothReaders()
    {
        Prop.ForAll(Arb.From(PackableTrajectories), sample =>
        {
            var bytes = TrajectoryCodec.Encode(sample.Trajectory, sample.Encoding);
            TrajectoryCodecTests.AssertIdentical(sample.Trajectory, TrajectoryCodec.Decode(bytes));
            var encoded = TrajectoryCodec.DecodeEncoded(bytes);
            Assert.Equal(sample.Encoding, encoded.ObservationEncoding);
            TrajectoryCodecTests.AssertIdentical(sample.Trajectory, encoded.ToTrajectory());
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ObservationsTakeOneBitOrOneBytePerElementEachStartingOnAByte()
    {
        Prop.ForAll(Arb.From(PackableTrajectories), sample =>
        {
            var t = sample.Trajectory;
            var message = Unroll.Parser.ParseFrom(TrajectoryCodec.Encode(t, sample.Encoding));
            int perObservation = sample.Encoding == ObservationEncoding.Bits ? (t.ObservationSize + 7) / 8 : t.ObservationSize;
            Assert.Equal((t.Steps + 1) * t.Envs * perObservation, message.Observations.Length);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ConcatenatingPackedWireFormsGivesThePackedEncodingOfTheConcatenatedTrajectories()
    {
        Prop.ForAll(Arb.From(PackableParts), sample =>
        {
            var expected = TrajectoryCodec.Encode(Trajectory.Concatenate(sample.Parts), sample.Encoding);
            var encoded = sample.Parts.Select(p => TrajectoryCodec.DecodeEncoded(TrajectoryCodec.Encode(p, sample.Encoding))).ToList();
            Assert.Equal(expected, EncodedUnroll.Concatenate(encoded).ToByteArray());
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void PartsThatMixEncodingsAreBatchedAsFloat32()
    {
        var parts = new List<Trajectory>
        {
            Packable(TrajectoryCodecTests.Sample(3, 2, 12, 1, 2, seed: 5, version: 1), ObservationEncoding.Bits, 5),
            Packable(TrajectoryCodecTests.Sample(3, 1, 12, 1, 2, seed: 6, version: 2), ObservationEncoding.Bits, 6),
        };
        var encoded = new List<EncodedUnroll>
        {
            EncodedUnroll.FromTrajectory(parts[0], ObservationEncoding.Bits),
            EncodedUnroll.FromTrajectory(parts[1]),
        };
        var batch = EncodedUnroll.Concatenate(encoded);
        Assert.Equal(ObservationEncoding.Float32, batch.ObservationEncoding);
        Assert.Equal(TrajectoryCodec.Encode(Trajectory.Concatenate(parts)), batch.ToByteArray());
    }

    [Fact]
    public void Float32IsTheAbsentFieldSoMessagesFromOlderWritersDecodeUnchanged()
    {
        var t = TrajectoryCodecTests.Sample(4, 3, 5, 1, 2, seed: 3, version: 8);
        var bytes = TrajectoryCodec.Encode(t, ObservationEncoding.Float32);
        var message = Unroll.Parser.ParseFrom(bytes);
        // Float32 is not written at all (field 20 costs 3 bytes when set): the bytes are what writers before the field wrote.
        var marked = message.Clone();
        marked.ObservationEncoding = ObservationEncoding.Uint8;
        Assert.Equal(message.CalculateSize() + 3, marked.CalculateSize());
        Assert.Equal(bytes.Length, message.CalculateSize());
        Assert.Equal(TrajectoryCodec.Encode(t), bytes);
        TrajectoryCodecTests.AssertIdentical(t, TrajectoryCodec.Decode(bytes));
    }

    [Fact]
    public void TheEncodingFollowsTheObservationSpace()
    {
        Assert.Equal(ObservationEncoding.Bits, TrajectoryCodec.EncodingFor(EnvRegistry.Make("MinAtar/Breakout-v1").ObservationSpace));
        Assert.Equal(ObservationEncoding.Uint8, TrajectoryCodec.EncodingFor(new Box(0, 255, 4, 4) { DType = BoxDType.UInt8 }));
        Assert.Equal(ObservationEncoding.Float32, TrajectoryCodec.EncodingFor(new Box(0, 1, 4)));
        Assert.Equal(ObservationEncoding.Float32, TrajectoryCodec.EncodingFor(EnvRegistry.Make("CartPole-v1").ObservationSpace));
    }

    [Fact]
    public void ObservationsThatDoNotFitTheEncodingAreRefusedByTheSender()
    {
        var t = TrajectoryCodecTests.Sample(2, 2, 4, 1, 2, seed: 9, version: 1);
        Array.Fill(t.Observations, 0f);
        t.Observations[5] = 2f;
        Assert.Throws<ArgumentException>(() => TrajectoryCodec.Encode(t, ObservationEncoding.Bits));
        t.Observations[5] = 0.5f;
        Assert.Throws<ArgumentException>(() => TrajectoryCodec.Encode(t, ObservationEncoding.Uint8));
    }

    [Theory]
    [InlineData(ObservationEncoding.Bits)]
    [InlineData(ObservationEncoding.Uint8)]
    public void PackedObservationsOfTheWrongLengthAreRejected(ObservationEncoding encoding)
    {
        var e = Reject(encoding, m => m.Observations = ByteString.CopyFrom(m.Observations.Span[..^1]));
        Assert.Contains("observations has", e.Reason);
    }

    [Fact]
    public void FloatSizedObservationsMarkedAsBitsAreRejected()
    {
        var e = Reject(ObservationEncoding.Float32, m => m.ObservationEncoding = ObservationEncoding.Bits);
        Assert.Contains("observations has", e.Reason);
    }

    [Fact]
    public void BitsSetPastAnObservationsLastElementAreRejected()
    {
        // 12 elements per observation: 2 bytes, the low 4 bits of the second are padding.
        var e = Reject(ObservationEncoding.Bits, m =>
        {
            var bytes = m.Observations.ToByteArray();
            bytes[3] |= 0x01;
            m.Observations = ByteString.CopyFrom(bytes);
        });
        Assert.Contains("observation 1 has bits set past its last element", e.Reason);
    }

    [Fact]
    public void AnUnknownEncodingIsRejected()
    {
        var e = Reject(ObservationEncoding.Bits, m => m.ObservationEncoding = (ObservationEncoding)7);
        Assert.Contains("observation_encoding 7 is unknown", e.Reason);
    }

    private static InvalidMessageException Reject(ObservationEncoding encoding, Action<Unroll> spoil)
    {
        var t = Packable(TrajectoryCodecTests.Sample(3, 2, 12, 1, 2, seed: 4, version: 1), ObservationEncoding.Bits, 4);
        var message = Unroll.Parser.ParseFrom(TrajectoryCodec.Encode(t, encoding));
        spoil(message);
        var bytes = message.ToByteArray();
        var rejected = Assert.Throws<InvalidMessageException>(() => TrajectoryCodec.Decode(bytes));
        var rejectedEncoded = Assert.Throws<InvalidMessageException>(() => TrajectoryCodec.DecodeEncoded(bytes));
        Assert.Equal(rejected.Reason, rejectedEncoded.Reason);
        return rejected;
    }

    /// <summary>The sample with observations an env of that encoding could emit: 0/1 for bits, 0..255 integers for bytes.</summary>
    private static Trajectory Packable(Trajectory t, ObservationEncoding encoding, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < t.Observations.Length; i++)
            t.Observations[i] = encoding == ObservationEncoding.Bits ? random.Next(2) : random.Next(256);
        return t;
    }
}
