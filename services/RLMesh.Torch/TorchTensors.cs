using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace RLMesh.Torch;

/// <summary>Copies between .NET spans and contiguous CPU float32 tensors.</summary>
internal static class TorchTensors
{
    /// <summary>The tensor's elements as a span (contiguous CPU float32 only).</summary>
    public static Span<float> Floats(Tensor tensor)
    {
        if (tensor.dtype != ScalarType.Float32 || !tensor.is_contiguous())
            throw new InvalidOperationException("expected a contiguous float32 tensor");
        return MemoryMarshal.Cast<byte, float>(tensor.bytes);
    }

    /// <summary>Copies <paramref name="tensor"/> (made contiguous if needed) into <paramref name="destination"/>.</summary>
    public static void CopyTo(Tensor tensor, Span<float> destination)
    {
        if (tensor.is_contiguous())
        {
            Floats(tensor).CopyTo(destination);
            return;
        }
        using var contiguous = tensor.contiguous();
        Floats(contiguous).CopyTo(destination);
    }
}
