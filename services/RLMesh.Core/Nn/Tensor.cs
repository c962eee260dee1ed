namespace RLMesh.Core.Nn;

/// <summary>
/// A small row-major float32 tensor: a shape over a contiguous <see cref="Memory{T}"/>.
/// Deliberately thin: the hot paths (Gemm, layers) work on spans, this is for holding and passing data.
/// </summary>
public sealed class Tensor
{
    private readonly int[] _shape;

    public Tensor(Memory<float> storage, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long length = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException("Dimensions must be non-negative.", nameof(shape));
            length *= d;
        }
        if (length != storage.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] needs {length} elements, storage has {storage.Length}.");
        _shape = (int[])shape.Clone();
        Memory = storage;
    }

    public static Tensor Zeros(params int[] shape)
    {
        long length = 1;
        foreach (int d in shape) length *= d;
        return new Tensor(new float[length], shape);
    }

    /// <summary>Wraps (does not copy) <paramref name="data"/>.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => new(data, shape);

    public Memory<float> Memory { get; }
    public Span<float> Span => Memory.Span;
    public ReadOnlySpan<int> Shape => _shape;
    public int Rank => _shape.Length;
    public int Length => Memory.Length;
    public int Dim(int axis) => _shape[axis];

    public float this[int i]
    {
        get => Span[i];
        set => Span[i] = value;
    }

    public float this[int i, int j]
    {
        get => Span[Offset2(i, j)];
        set => Span[Offset2(i, j)] = value;
    }

    public float this[int i, int j, int k]
    {
        get => Span[Offset3(i, j, k)];
        set => Span[Offset3(i, j, k)] = value;
    }

    /// <summary>Row <paramref name="i"/> along the first axis, as a span (no copy).</summary>
    public Span<float> Row(int i)
    {
        int stride = _shape.Length == 0 ? 1 : Length / Math.Max(1, _shape[0]);
        return Span.Slice(i * stride, stride);
    }

    /// <summary>Same storage, new shape (no copy).</summary>
    public Tensor Reshape(params int[] shape) => new(Memory, shape);

    public Tensor Clone() => new(Span.ToArray(), _shape);

    public override string ToString() => $"Tensor[{string.Join(", ", _shape)}]";

    private int Offset2(int i, int j)
    {
        if (_shape.Length != 2) throw new InvalidOperationException("Tensor is not rank 2.");
        if ((uint)i >= (uint)_shape[0] || (uint)j >= (uint)_shape[1]) throw new IndexOutOfRangeException();
        return i * _shape[1] + j;
    }

    private int Offset3(int i, int j, int k)
    {
        if (_shape.Length != 3) throw new InvalidOperationException("Tensor is not rank 3.");
        if ((uint)i >= (uint)_shape[0] || (uint)j >= (uint)_shape[1] || (uint)k >= (uint)_shape[2]) throw new IndexOutOfRangeException();
        return (i * _shape[1] + j) * _shape[2] + k;
    }
}
