using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

public class TensorAndBufferTests
{
    [Fact]
    public void TensorIndexesRowMajorAndViewsShareStorage()
    {
        var t = Tensor.FromArray([0, 1, 2, 3, 4, 5], 2, 3);
        Assert.Equal(5f, t[1, 2]);
        Assert.Equal([3f, 4f, 5f], t.Row(1).ToArray());
        var flat = t.Reshape(6);
        flat[4] = 40f;
        Assert.Equal(40f, t[1, 1]);
        Assert.Equal(24, Tensor.Zeros(2, 3, 4).Length);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.Throws<IndexOutOfRangeException>(() => t[2, 0]);
    }

    [Fact]
    public void ParameterBufferPacksNamedSlicesBackToBackInOneArray()
    {
        var buffer = new ParameterBuffer([("a", [2, 3]), ("b", [4])]);
        Assert.Equal(10, buffer.Count);
        Assert.Equal(10, buffer.Gradients.Length);
        Assert.Equal(6, buffer["b"].Offset);
        buffer.ValuesOf(buffer["b"]).Fill(1f);
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], buffer.Values);
        buffer.Gradients[3] = 5f;
        buffer.ZeroGradients();
        Assert.All(buffer.Gradients, g => Assert.Equal(0f, g));
        buffer.CopyFrom(Enumerable.Range(0, 10).Select(i => (float)i).ToArray());
        Assert.Equal(9f, buffer.Values[9]);
        Assert.Throws<ArgumentException>(() => buffer.CopyFrom(new float[9]));
        Assert.Throws<ArgumentException>(() => new ParameterBuffer([("a", [1]), ("a", [2])]));
    }
}
