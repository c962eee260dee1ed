using static TorchSharp.torch;

namespace RLMesh.Torch;

/// <summary>
/// A growable float array that a tensor shares memory with (torch.from_array), so spans are handed to libtorch with
/// one copy into the array and no allocation once it has grown to the largest size asked for.
/// </summary>
internal sealed class HostBuffer : IDisposable
{
    private float[] _array = [];
    private Tensor? _tensor;

    /// <summary>Copies <paramref name="values"/> in and returns a tensor view of them shaped <paramref name="shape"/>.</summary>
    public Tensor Load(ReadOnlySpan<float> values, params long[] shape)
    {
        Tensor view = Reserve(values.Length, shape);
        values.CopyTo(_array);
        return view;
    }

    /// <summary>A tensor view of the first elements of the array (contents unspecified), shaped <paramref name="shape"/>.</summary>
    public Tensor Reserve(int length, params long[] shape)
    {
        if (_array.Length < length || _tensor is null)
        {
            _tensor?.Dispose();
            _array = new float[Math.Max(length, 1)];
            // Lives as long as the buffer, not as long as the dispose scope of the pass that grew it.
            _tensor = from_array(_array).DetachFromDisposeScope();
        }
        using var prefix = _tensor.narrow(0, 0, length);
        return prefix.view(shape);
    }

    public Span<float> Span(int length) => _array.AsSpan(0, length);

    public void Dispose()
    {
        _tensor?.Dispose();
        _tensor = null;
    }
}
