using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Envs;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

public class SpaceTests
{
    [Fact]
    public void SpacesPrintLikeGymnasium()
    {
        Assert.Equal("Discrete(2)", new Discrete(2).ToString());
        Assert.Equal("Box(-inf, inf, (4,), float32)", new Box(float.NegativeInfinity, float.PositiveInfinity, 4).ToString());
        Assert.Equal("Box(-1.0, 1.0, (1,), float32)", EnvRegistry.Spec("MountainCarContinuous-v0").ActionSpace.ToString());
        Assert.Equal("Box([-1.2 -0.07], [0.6 0.07], (2,), float32)", EnvRegistry.Spec("MountainCar-v0").ObservationSpace.ToString());
        Assert.Equal("Box(0.0, 1.0, (2, 3), float32)", new Box(0f, 1f, 2, 3).ToString());
        Assert.Equal("MultiDiscrete([3 2 5])", new MultiDiscrete([3, 2, 5]).ToString());
    }

    [Fact]
    public void SizesAreFlatElementCounts()
    {
        Assert.Equal(1, new Discrete(7).Size);
        Assert.Equal(6, new Box(0f, 1f, 2, 3).Size);
        Assert.Equal(3, new MultiDiscrete([2, 2, 2]).Size);
    }

    [Fact]
    public void ContainsChecksRangeIntegralityLengthAndNaN()
    {
        var d = new Discrete(3);
        Assert.True(d.Contains([2f]));
        Assert.False(d.Contains([3f]));
        Assert.False(d.Contains([-1f]));
        Assert.False(d.Contains([1.5f]));
        Assert.False(d.Contains([float.NaN]));
        Assert.False(d.Contains([1f, 1f]));
        Assert.True(d.Contains(0));
        Assert.False(d.Contains(3));

        var box = new Box([-1f, 0f], [1f, float.PositiveInfinity], [2]);
        Assert.True(box.Contains([-1f, 1e30f]));
        Assert.False(box.Contains([1.0001f, 0f]));
        Assert.False(box.Contains([0f, float.NaN]));
        Assert.False(box.Contains([0f]));

        var md = new MultiDiscrete([2, 4]);
        Assert.True(md.Contains([1f, 3f]));
        Assert.False(md.Contains([2f, 0f]));
        Assert.False(md.Contains([0f, 0.5f]));
    }

    [Fact]
    public void SpacesWithEqualContentsAreEqual()
    {
        Assert.Equal(new Box([0f, 1f], [2f, 3f], [2]), new Box([0f, 1f], [2f, 3f], [2]));
        Assert.NotEqual(new Box([0f, 1f], [2f, 3f], [2]), new Box([0f, 1f], [2f, 4f], [2]));
        Assert.Equal(new MultiDiscrete([2, 3]), new MultiDiscrete([2, 3]));
        Assert.Equal(new Discrete(4), new Discrete(4));
        Assert.NotEqual<Space>(new Discrete(1), new MultiDiscrete([1]));
    }

    [Fact]
    public void ABoxCannotBeChangedThroughTheArraysItWasBuiltFromOrHandsOut()
    {
        float[] low = [0f], high = [1f];
        var box = new Box(low, high, [1]);
        low[0] = 5f;
        box.High[0] = -5f;
        Assert.Equal("Box(0.0, 1.0, (1,), float32)", box.ToString());
    }

    [Fact]
    public void InvalidSpaceDefinitionsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Discrete(0));
        Assert.Throws<ArgumentException>(() => new Box([0f], [1f, 2f], [1]));
        Assert.Throws<ArgumentException>(() => new Box([2f], [1f], [1]));
        Assert.Throws<ArgumentException>(() => new MultiDiscrete([]));
    }

    [Fact]
    public void EverySampleOfEverySpaceIsContainedInIt()
    {
        Space[] spaces =
        [
            new Discrete(1), new Discrete(5),
            new Box(-2f, 2f, 1), new Box(float.NegativeInfinity, float.PositiveInfinity, 3),
            new Box([0f, float.NegativeInfinity, -1f], [float.PositiveInfinity, 0f, -1f], [3]),
            new Box(1e-3f, 1.0001e-3f, 2, 2),
            new MultiDiscrete([1, 2, 7]),
            .. EnvRegistry.All.SelectMany(s => new[] { s.ObservationSpace, s.ActionSpace }),
        ];
        var gen = Gen.Elements(spaces).Zip(Gen.Choose(0, int.MaxValue));
        Prop.ForAll(Arb.From(gen), input =>
        {
            var (space, seed) = input;
            var rng = new Rng((ulong)seed);
            for (int k = 0; k < 20; k++)
            {
                if (!space.Contains(space.Sample(ref rng))) return false;
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void DiscreteSamplesCoverEveryValue()
    {
        var rng = new Rng(3);
        var seen = new bool[4];
        for (int k = 0; k < 200; k++) seen[new Discrete(4).SampleIndex(ref rng)] = true;
        Assert.All(seen, Assert.True);
    }

    [Fact]
    public void AUInt8BoxDeclaresItsDtypeAndHoldsOnlyIntegers()
    {
        var box = new Box(0f, 1f, 10, 10, 4) { DType = BoxDType.UInt8 };
        Assert.Equal("Box(0, 1, (10, 10, 4), uint8)", box.ToString());
        Assert.True(box.IsBinary);
        Assert.Equal(BoxDType.Float32, new Box(0f, 1f, 10, 10, 4).DType);
        Assert.False(new Box(0f, 1f, 2).IsBinary);
        Assert.NotEqual(new Box(0f, 1f, 10, 10, 4), box);
        Assert.Equal(new Box(0f, 1f, 10, 10, 4) { DType = BoxDType.UInt8 }, box);
        var values = new float[400];
        Assert.True(box.Contains(values));
        values[7] = 0.5f;
        Assert.False(box.Contains(values));
        values[7] = 2f;
        Assert.False(box.Contains(values));
    }

    [Fact]
    public void AUInt8BoxNeedsIntegerBoundsWithinAByte()
    {
        Assert.Throws<ArgumentException>(() => new Box(0f, 1.5f, 2) { DType = BoxDType.UInt8 });
        Assert.Throws<ArgumentException>(() => new Box(-1f, 1f, 2) { DType = BoxDType.UInt8 });
        Assert.Throws<ArgumentException>(() => new Box(0f, 256f, 2) { DType = BoxDType.UInt8 });
        Assert.Equal("Box(0, 255, (2,), uint8)", new Box(0f, 255f, 2) { DType = BoxDType.UInt8 }.ToString());
    }

    [Fact]
    public void AUInt8BoxSamplesEveryIntegerInItsBounds()
    {
        var box = new Box(0f, 2f, 1) { DType = BoxDType.UInt8 };
        var rng = new Rng(5);
        var seen = new bool[3];
        var value = new float[1];
        for (int k = 0; k < 200; k++)
        {
            box.Sample(ref rng, value);
            seen[(int)value[0]] = true;
            Assert.Equal(MathF.Floor(value[0]), value[0]);
        }
        Assert.All(seen, Assert.True);
    }
}
