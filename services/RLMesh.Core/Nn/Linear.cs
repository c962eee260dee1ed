namespace RLMesh.Core.Nn;

/// <summary>
/// Fully connected layer y = x·W + b over a batch of rows. Weights are stored <b>[in, out]</b> row-major
/// (the transpose of PyTorch's [out, in]) so the forward product is a plain A·B whose inner SIMD loop runs
/// along the outputs; backward uses Aᵀ·B for dW and A·Bᵀ for dx. Parameters live in a shared
/// <see cref="ParameterBuffer"/> under "{name}.weight" and "{name}.bias".
/// </summary>
public sealed class Linear
{
    private readonly ParameterBuffer _buffer;
    private readonly ParameterSlice _weight;
    private readonly ParameterSlice _bias;

    public Linear(ParameterBuffer buffer, string name)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        _buffer = buffer;
        _weight = buffer[name + ".weight"];
        _bias = buffer[name + ".bias"];
        if (_weight.Shape.Length != 2 || _bias.Shape.Length != 1 || _bias.Shape[0] != _weight.Shape[1])
            throw new ArgumentException($"'{name}' does not have a [in,out] weight and [out] bias.");
        In = _weight.Shape[0];
        Out = _weight.Shape[1];
        Name = name;
    }

    /// <summary>The parameter layout entries of a layer, to pass to <see cref="ParameterBuffer"/>.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Layout(string name, int inputs, int outputs)
    {
        yield return (name + ".weight", [inputs, outputs]);
        yield return (name + ".bias", [outputs]);
    }

    public string Name { get; }
    public int In { get; }
    public int Out { get; }
    public ParameterSlice WeightSlice => _weight;
    public ParameterSlice BiasSlice => _bias;
    public Span<float> Weight => _buffer.ValuesOf(_weight);
    public Span<float> Bias => _buffer.ValuesOf(_bias);
    public Span<float> WeightGradient => _buffer.GradientsOf(_weight);
    public Span<float> BiasGradient => _buffer.GradientsOf(_bias);

    /// <summary>
    /// PyTorch's default nn.Linear init: weights and bias uniform in ±1/sqrt(fan_in), both scaled by
    /// <paramref name="gain"/> (e.g. 0.01 for a policy head so initial logits are near uniform).
    /// </summary>
    public void Initialize(ref Rng rng, float gain = 1f)
    {
        double bound = gain / Math.Sqrt(In);
        foreach (ref float w in Weight) w = (float)rng.Uniform(-bound, bound);
        foreach (ref float b in Bias) b = (float)rng.Uniform(-bound, bound);
    }

    /// <summary>y[batch, Out] (row stride ldy) = x[batch, In] (row stride ldx)·W + b.</summary>
    public void Forward(ReadOnlySpan<float> x, int ldx, int batch, Span<float> y, int ldy)
    {
        ReadOnlySpan<float> bias = Bias;
        for (int r = 0; r < batch; r++) bias.CopyTo(y.Slice(r * ldy, Out));
        Gemm.Multiply(x, ldx, Weight, Out, y, ldy, batch, Out, In, accumulate: true);
    }

    public void Forward(ReadOnlySpan<float> x, int batch, Span<float> y) => Forward(x, In, batch, y, Out);

    /// <summary>
    /// Accumulates dW += xᵀ·dy and db += Σ_rows dy into the buffer's gradients; if <paramref name="dx"/> is not
    /// empty, writes (or with <paramref name="accumulateDx"/> adds) dx = dy·Wᵀ.
    /// </summary>
    public void Backward(ReadOnlySpan<float> x, int ldx, ReadOnlySpan<float> dy, int lddy, int batch,
        Span<float> dx, int lddx, bool accumulateDx = false)
    {
        Gemm.MultiplyTransposeA(x, ldx, dy, lddy, WeightGradient, Out, In, Out, batch, accumulate: true);
        Span<float> db = BiasGradient;
        if (Out == 1)
        {
            float s = 0f;
            for (int r = 0; r < batch; r++) s += dy[r * lddy];
            db[0] += s;
        }
        else
        {
            for (int r = 0; r < batch; r++) System.Numerics.Tensors.TensorPrimitives.Add(db, dy.Slice(r * lddy, Out), db);
        }
        if (!dx.IsEmpty)
            Gemm.MultiplyTransposeB(dy, lddy, Weight, Out, dx, lddx, batch, In, Out, accumulateDx);
    }

    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int batch, Span<float> dx, bool accumulateDx = false)
        => Backward(x, In, dy, Out, batch, dx, In, accumulateDx);
}
