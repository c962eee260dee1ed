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
    // Odd rational minimax approximation tanh(x) ≈ x·P(x²)/Q(x²) on [-c, c] (the coefficients of Eigen's
    // float tanh); beyond c, tanh rounds to ±1 in float. TensorPrimitives.Tanh measured ~3.7 ns/element here,
    // this is ~10x faster and within a few ulp (checked against Math.Tanh in the tests).
    private const float Clamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f,
        A7 = 5.12229709037114e-08f, A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <summary>y = tanh(x). <paramref name="y"/> may alias <paramref name="x"/>.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("Output is shorter than input.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lo = Vector256.Create(-Clamp);
            var hi = Vector256.Create(Clamp);
            for (; i + 8 <= x.Length; i += 8)
            {
                Vector256<float> v = Vector256.Min(Vector256.Max(Vector256.Create(x.Slice(i, 8)), lo), hi);
                Vector256<float> x2 = v * v;
                Vector256<float> p = Vector256.FusedMultiplyAdd(x2, Vector256.Create(A13), Vector256.Create(A11));
                p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A9));
                p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A7));
                p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A5));
                p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A3));
                p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A1));
                Vector256<float> q = Vector256.FusedMultiplyAdd(x2, Vector256.Create(B6), Vector256.Create(B4));
                q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B2));
                q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B0));
                (v * p / q).CopyTo(y.Slice(i, 8));
            }
        }
        for (; i < x.Length; i++) y[i] = Scalar(x[i]);
    }

    private static float Scalar(float x)
    {
        float v = Math.Clamp(x, -Clamp, Clamp);
        float x2 = v * v;
        float p = MathF.FusedMultiplyAdd(x2, A13, A11);
        p = MathF.FusedMultiplyAdd(x2, p, A9);
        p = MathF.FusedMultiplyAdd(x2, p, A7);
        p = MathF.FusedMultiplyAdd(x2, p, A5);
        p = MathF.FusedMultiplyAdd(x2, p, A3);
        p = MathF.FusedMultiplyAdd(x2, p, A1);
        float q = MathF.FusedMultiplyAdd(x2, B6, B4);
        q = MathF.FusedMultiplyAdd(x2, q, B2);
        q = MathF.FusedMultiplyAdd(x2, q, B0);
        return v * p / q;
    }

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
