using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RLMesh.Torch.Tests;

/// <summary>
/// libtorch and TorchSharp's native glue load from the build output (with the GLIBCXX_3.4.32 need marked weak
/// where the system libstdc++ lacks it) and compute.
/// </summary>
public class NativeLoadTests
{
    [Fact]
    public void TorchLoadsAndMultipliesMatrices()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        using var b = tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        using var product = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());
    }

    [Fact]
    public void AutogradComputesAGradient()
    {
        using var x = tensor(new float[] { 1, -2, 3 }, requires_grad: true);
        using var y = (x * x).sum();
        y.backward();
        Assert.Equal(new float[] { 2, -4, 6 }, x.grad!.data<float>().ToArray());
    }
}
