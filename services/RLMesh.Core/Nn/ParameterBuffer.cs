namespace RLMesh.Core.Nn;

/// <summary>One named parameter tensor inside a <see cref="ParameterBuffer"/>.</summary>
public sealed record ParameterSlice(string Name, int[] Shape, int Offset, int Length);

/// <summary>
/// All parameters of a model in ONE contiguous array (and gradients in a same-sized one), so that
/// snapshots, broadcasts to actors and optimizer steps are single linear passes / memory copies.
/// </summary>
public sealed class ParameterBuffer
{
    private readonly ParameterSlice[] _slices;
    private readonly Dictionary<string, ParameterSlice> _byName;

    public ParameterBuffer(IEnumerable<(string Name, int[] Shape)> layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var slices = new List<ParameterSlice>();
        _byName = new Dictionary<string, ParameterSlice>(StringComparer.Ordinal);
        int offset = 0;
        foreach (var (name, shape) in layout)
        {
            int length = 1;
            foreach (int d in shape)
            {
                if (d <= 0) throw new ArgumentException($"Parameter '{name}' has a non-positive dimension.");
                length = checked(length * d);
            }
            var slice = new ParameterSlice(name, (int[])shape.Clone(), offset, length);
            if (!_byName.TryAdd(name, slice)) throw new ArgumentException($"Duplicate parameter name '{name}'.");
            slices.Add(slice);
            offset = checked(offset + length);
        }
        _slices = slices.ToArray();
        Values = new float[offset];
        Gradients = new float[offset];
    }

    public float[] Values { get; }
    public float[] Gradients { get; }
    public int Count => Values.Length;
    public IReadOnlyList<ParameterSlice> Slices => _slices;

    public ParameterSlice this[string name] => _byName[name];

    public Span<float> ValuesOf(ParameterSlice slice) => Values.AsSpan(slice.Offset, slice.Length);
    public Span<float> GradientsOf(ParameterSlice slice) => Gradients.AsSpan(slice.Offset, slice.Length);

    public void ZeroGradients() => Array.Clear(Gradients);

    /// <summary>Overwrites all values from a snapshot of the same layout (e.g. the learner's latest weights).</summary>
    public void CopyFrom(ReadOnlySpan<float> values)
    {
        if (values.Length != Values.Length)
            throw new ArgumentException($"Snapshot has {values.Length} values, buffer has {Values.Length}.", nameof(values));
        values.CopyTo(Values);
    }

    /// <summary>A deep copy with the same layout, values and gradients.</summary>
    public ParameterBuffer Clone()
    {
        var copy = new ParameterBuffer(_slices.Select(s => (s.Name, s.Shape)));
        Values.CopyTo(copy.Values, 0);
        Gradients.CopyTo(copy.Gradients, 0);
        return copy;
    }
}
