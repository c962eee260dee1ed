using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace RLMesh.Core.Nn;

public enum Activation
{
    Tanh,
    ReLU,
}

/// <summary>tanh; backward uses the output (dx = dy·(1 − y²)) so only outputs need caching.</summary>
public static class Tanh
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    /// <summary>dx = dy·(1 − y²). <paramref name="dx"/> may alias <paramref name="dy"/>.</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (y.Length != dy.Length || dx.Length < dy.Length) throw new ArgumentException("Span lengths differ.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= y.Length; i += 8)
            {
                Vector256<float> v = Vector256.Create(y.Slice(i, 8));
                Vector256<float> g = Vector256.Create(dy.Slice(i, 8));
                (g - g * v * v).CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < y.Length; i++) dx[i] = dy[i] - dy[i] * y[i] * y[i];
    }
}

/// <summary>max(x, 0); backward passes dy where the output is positive (the subgradient at 0 is taken as 0).</summary>
public static class ReLU
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>dx = y &gt; 0 ? dy : 0. <paramref name="dx"/> may alias <paramref name="dy"/>.</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (y.Length != dy.Length || dx.Length < dy.Length) throw new ArgumentException("Span lengths differ.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= y.Length; i += 8)
            {
                Vector256<float> v = Vector256.Create(y.Slice(i, 8));
                Vector256<float> g = Vector256.Create(dy.Slice(i, 8));
                (g & Vector256.GreaterThan(v, Vector256<float>.Zero)).CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < y.Length; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
    }
}

internal static class ActivationFunctions
{
    public static void Forward(Activation activation, ReadOnlySpan<float> x, Span<float> y)
    {
        if (activation == Activation.Tanh) Tanh.Forward(x, y);
        else ReLU.Forward(x, y);
    }

    public static void Backward(Activation activation, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (activation == Activation.Tanh) Tanh.Backward(y, dy, dx);
        else ReLU.Backward(y, dy, dx);
    }
}
