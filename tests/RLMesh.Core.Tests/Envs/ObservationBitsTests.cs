using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Envs;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

public class ObservationBitsTests
{
    [Fact]
    public void PacksMostSignificantBitFirstAndPadsTheLastByte()
    {
        // np.packbits([1, 0, 1, 1, 0, 0, 0, 0, 1, 1]) == [0xb0, 0xc0]
        float[] values = [1, 0, 1, 1, 0, 0, 0, 0, 1, 1];
        Assert.Equal("b0c0", ObservationBits.PackToHex(values));
        Assert.Equal(88, ObservationBits.PackedLength(700));
    }

    [Fact]
    public void PackingRoundTrips()
    {
        var gen = Gen.Choose(0, 1).ArrayOf().Select(bits => Array.ConvertAll(bits, b => (float)b));
        Prop.ForAll(Arb.From(gen), values =>
        {
            var packed = new byte[ObservationBits.PackedLength(values.Length)];
            ObservationBits.Pack(values, packed);
            var back = new float[values.Length];
            ObservationBits.Unpack(packed, back);
            return back.AsSpan().SequenceEqual(values);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void NonBinaryValuesAndWrongLengthsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => ObservationBits.PackToHex([0f, 0.5f]));
        Assert.Throws<ArgumentException>(() => ObservationBits.Pack([1f, 0f], new byte[2]));
        Assert.Throws<ArgumentException>(() => ObservationBits.Unpack([0x01], new float[7])); // a set padding bit
    }
}
