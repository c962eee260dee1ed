using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Data;
using RLMesh.Messaging.Codec;

namespace RLMesh.Messaging.Tests;

public sealed class EncodedUnrollTests
{
    private static readonly Gen<List<Trajectory>> SameShapedParts =
        from steps in Gen.Choose(1, 9)
        from obs in Gen.Choose(1, 5)
        from act in Gen.Choose(1, 3)
        from pol in Gen.Choose(1, 4)
        from count in Gen.Choose(1, 4)
        from envs in Gen.ListOf(Gen.Choose(1, 11), count)
        from seed in Gen.Choose(0, 1_000_000)
        select envs.Select((b, i) => TrajectoryCodecTests.Sample(steps, b, obs, act, pol, seed + i, version: (seed + 31 * i) % 1000)).ToList();

    [Fact]
    public void ConcatenatingWireFormsGivesTheBytesOfEncodingTheConcatenatedTrajectories()
    {
        Prop.ForAll(Arb.From(SameShapedParts), parts =>
        {
            var expected = TrajectoryCodec.Encode(Trajectory.Concatenate(parts));
            var encoded = parts.Select(p => TrajectoryCodec.DecodeEncoded(TrajectoryCodec.Encode(p))).ToList();
            Assert.Equal(expected, EncodedUnroll.Concatenate(encoded).ToByteArray());
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void RecurrentStateRoundTripsAndConcatenatesLikeTheTrajectories()
    {
        var parts = new List<Trajectory>
        {
            TrajectoryCodecTests.Sample(4, 2, 3, 1, 2, seed: 11, version: 3, coreStateSize: 5),
            TrajectoryCodecTests.Sample(4, 3, 3, 1, 2, seed: 12, version: 4, coreStateSize: 5),
        };
        TrajectoryCodecTests.AssertIdentical(parts[0], TrajectoryCodec.Decode(TrajectoryCodec.Encode(parts[0])));
        var expected = Trajectory.Concatenate(parts);
        var encoded = parts.Select(p => TrajectoryCodec.DecodeEncoded(TrajectoryCodec.Encode(p))).ToList();
        var batch = EncodedUnroll.Concatenate(encoded);
        Assert.Equal(TrajectoryCodec.Encode(expected), batch.ToByteArray());
        TrajectoryCodecTests.AssertIdentical(expected, batch.ToTrajectory());

        var feedForward = TrajectoryCodec.DecodeEncoded(TrajectoryCodec.Encode(TrajectoryCodecTests.Sample(4, 1, 3, 1, 2, seed: 13, version: 5)));
        Assert.False(encoded[0].SharesShapeWith(feedForward));
    }

    [Fact]
    public void ConcatenatingBatchesKeepsTheirSegmentsInColumnOrder()
    {
        var a = Trajectory.Concatenate([TrajectoryCodecTests.Sample(3, 2, 2, 1, 2, 1, 5), TrajectoryCodecTests.Sample(3, 3, 2, 1, 2, 2, 4)]);
        var b = TrajectoryCodecTests.Sample(3, 5, 2, 1, 2, 3, 7);
        var wire = EncodedUnroll.Concatenate([EncodedUnroll.FromTrajectory(a), EncodedUnroll.FromTrajectory(b)]);
        var batch = TrajectoryCodec.Decode(wire.ToByteArray());
        Assert.Equal([.. a.Segments, new BatchSegment(b.Source, 5, 7)], batch.Segments);
        Assert.Equal(4, batch.PolicyVersion);
        TrajectoryCodecTests.AssertIdentical(Trajectory.Concatenate([a, b]), batch);
    }

    [Fact]
    public void AWireFormDecodesToTheTrajectoryItWasMadeFrom()
    {
        var t = TrajectoryCodecTests.Sample(4, 3, 2, 1, 2, seed: 11, version: 3);
        TrajectoryCodecTests.AssertIdentical(t, TrajectoryCodec.DecodeEncoded(TrajectoryCodec.Encode(t)).ToTrajectory());
    }

    [Fact]
    public void UnrollsOfAnotherShapeAreNotConcatenated()
    {
        var a = EncodedUnroll.FromTrajectory(TrajectoryCodecTests.Sample(4, 2, 2, 1, 2, 1, 1));
        var b = EncodedUnroll.FromTrajectory(TrajectoryCodecTests.Sample(5, 2, 2, 1, 2, 2, 1));
        Assert.False(a.SharesShapeWith(b));
        Assert.Throws<ArgumentException>(() => EncodedUnroll.Concatenate([a, b]));
    }
}
