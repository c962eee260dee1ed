using System.Collections.Concurrent;

namespace RLMesh.Telemetry.Metrics;

/// <summary>
/// One catalog metric and its children, one per combination of label values. Looking a child up by one label
/// value does not allocate; hot paths should still keep the child they use (it never changes).
/// </summary>
public abstract class MetricFamily
{
    private protected MetricFamily(MetricDefinition definition) => Definition = definition;

    public MetricDefinition Definition { get; }

    /// <summary>Children with their label values, sorted by label values (stable output).</summary>
    internal abstract IEnumerable<(string[] LabelValues, object Child)> Children();
}

public sealed class MetricFamily<TChild> : MetricFamily where TChild : class
{
    private readonly ConcurrentDictionary<string, (string[] Values, TChild Child)> _children = new(StringComparer.Ordinal);
    private readonly Func<TChild> _create;
    private readonly TChild? _unlabelled;

    internal MetricFamily(MetricDefinition definition, Func<TChild> create) : base(definition)
    {
        _create = create;
        if (definition.Labels.Length == 0)
        {
            _unlabelled = create();
            _children[""] = ([], _unlabelled);
        }
    }

    /// <summary>The only child of a metric without labels.</summary>
    public TChild Value => _unlabelled ?? throw new InvalidOperationException($"{Definition.Name} has labels ({string.Join(", ", Definition.Labels)}); use WithLabels");

    public TChild WithLabels(string value)
    {
        ExpectLabels(1);
        if (_children.TryGetValue(value, out var found)) return found.Child;
        return Add(value, [value]);
    }

    public TChild WithLabels(string first, string second)
    {
        ExpectLabels(2);
        string key = string.Concat(first, "\u0000", second);
        if (_children.TryGetValue(key, out var found)) return found.Child;
        return Add(key, [first, second]);
    }

    /// <summary>
    /// Drops the child with this label value, so its series leaves the exposition (a runner that is gone). A later
    /// <see cref="WithLabels(string)"/> creates a fresh child; whoever still holds the removed one updates a detached
    /// child that is no longer exported. Returns whether there was such a child.
    /// </summary>
    public bool Remove(string value)
    {
        ExpectLabels(1);
        return _children.TryRemove(value, out _);
    }

    /// <inheritdoc cref="Remove(string)"/>
    public bool Remove(string first, string second)
    {
        ExpectLabels(2);
        return _children.TryRemove(string.Concat(first, "\u0000", second), out _);
    }

    private TChild Add(string key, string[] values)
    {
        foreach (var v in values) ArgumentNullException.ThrowIfNull(v);
        return _children.GetOrAdd(key, static (_, state) => (state.values, state.create()), (values, create: _create)).Child;
    }

    private void ExpectLabels(int count)
    {
        if (Definition.Labels.Length != count)
            throw new ArgumentException($"{Definition.Name} has {Definition.Labels.Length} label(s) ({string.Join(", ", Definition.Labels)}), not {count}");
    }

    internal override IEnumerable<(string[] LabelValues, object Child)> Children() =>
        _children.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Value.Values, (object)kv.Value.Child));
}
