namespace RLMesh.Core.Envs;

/// <summary>
/// Shows the agent only some elements of a vector observation (<c>--observe i,j,...</c>), e.g. CartPole with
/// <c>0,2</c> keeps cart position and pole angle and hides both velocities (a partially observed task). The wrapped
/// environment runs unchanged; only what reset and step write is narrowed, in the order the indices are given.
/// The spec keeps the inner id, time limit and action space; its observation space is the matching sub-box.
/// </summary>
public sealed class ObservationSubset : Env
{
    private readonly Env _inner;
    private readonly int[] _indices;
    private readonly float[] _full;

    private ObservationSubset(Env inner, int[] indices, EnvSpec spec) : base(spec)
    {
        _inner = inner;
        _indices = indices;
        _full = new float[inner.ObservationSize];
    }

    /// <summary>The element indices kept, in observation order.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <summary>The environment <paramref name="id"/> showing only <paramref name="indices"/> (null or empty: all of it, unwrapped).</summary>
    public static Env Make(string id, IReadOnlyList<int>? indices) => Factory(id, indices)();

    /// <summary>A factory (for <see cref="VectorEnv"/>) of <paramref name="id"/> narrowed to <paramref name="indices"/>; checks them once.</summary>
    public static Func<Env> Factory(string id, IReadOnlyList<int>? indices)
    {
        var inner = EnvRegistry.Factory(id);
        if (indices is null || indices.Count == 0) return inner;
        var spec = SpecOf(id, indices);
        int[] kept = [.. indices];
        return () => new ObservationSubset(inner(), kept, spec);
    }

    /// <summary>The spec of <paramref name="id"/> narrowed to <paramref name="indices"/> (null or empty: the registry's own).</summary>
    public static EnvSpec SpecOf(string id, IReadOnlyList<int>? indices)
    {
        var spec = EnvRegistry.Spec(id);
        if (indices is null || indices.Count == 0) return spec;
        if (spec.ObservationSpace is not Box box || box.Shape.Length != 1)
            throw new ArgumentException($"--observe needs a vector observation; {id} observes {spec.ObservationSpace}");
        int size = box.Size;
        var seen = new HashSet<int>();
        foreach (int i in indices)
        {
            if (i < 0 || i >= size)
                throw new ArgumentException($"--observe index {i} is out of range: {id} observes {size} elements (0..{size - 1})");
            if (!seen.Add(i))
                throw new ArgumentException($"--observe lists index {i} twice");
        }
        float[] low = new float[indices.Count], high = new float[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            low[k] = box.Low[indices[k]];
            high[k] = box.High[indices[k]];
        }
        return spec with { ObservationSpace = new Box(low, high, [indices.Count]) };
    }

    /// <summary>Parses "0,2" into indices; null or blank gives null (no subset). Throws <see cref="FormatException"/> on anything else.</summary>
    public static int[]? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var indices = new int[parts.Length];
        for (int k = 0; k < parts.Length; k++)
        {
            if (!int.TryParse(parts[k], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out indices[k]))
                throw new FormatException($"--observe takes element indices separated by commas, e.g. 0,2; '{parts[k]}' is not an index");
        }
        return indices;
    }

    public override int StateSize => _inner.StateSize;

    protected override string StateDescription => $"the state of {_inner.Id}";

    // The wrapper's seeded stream seeds the inner env, so a seeded reset stays reproducible.
    protected override void ResetCore(ref Rng rng) => _inner.Reset(rng.NextUInt64(), _full);

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        var outcome = _inner.Step(action, _full);
        Select(observation);
        return outcome;
    }

    protected override void SetStateCore(ReadOnlySpan<double> state) => _inner.SetState(state);

    protected override void GetStateCore(Span<double> state) => _inner.GetState(state);

    protected override void WriteObservation(Span<float> observation)
    {
        _inner.GetObservation(_full);
        Select(observation);
    }

    private void Select(Span<float> observation)
    {
        for (int k = 0; k < _indices.Length; k++) observation[k] = _full[_indices[k]];
    }
}
