using System.Collections.Concurrent;

namespace RLMesh.Telemetry.Metrics;

/// <summary>
/// One catalog metric and its children, one per combination of label values. Looking a child up by one or two label
/// values does not allocate once the child exists; hot paths should still keep the child they use.
/// </summary>
public abstract class MetricFamily
{
    private protected MetricFamily(MetricDefinition definition) => Definition = definition;

    public MetricDefinition Definition { get; }
}

/// <summary>
/// A family over a prometheus-net collector. The collector is created with the first child, so a labelled metric that
/// has no child yet is absent from /metrics (not even a # TYPE line): a runner never shows the learner's families.
/// </summary>
public sealed class MetricFamily<TChild> : MetricFamily where TChild : class
{
    private readonly ConcurrentDictionary<string, TChild> _children = new(StringComparer.Ordinal);
    private readonly Func<string[], TChild> _create;
    private readonly Action<string[]> _remove;
    private readonly TChild? _unlabelled;

    /// <param name="create">The child for these label values (creating the collector on first use).</param>
    /// <param name="remove">Drops the child for these label values from the collector.</param>
    internal MetricFamily(MetricDefinition definition, Func<string[], TChild> create, Action<string[]> remove) : base(definition)
    {
        _create = create;
        _remove = remove;
        if (definition.Labels.Length == 0) _unlabelled = create([]);
    }

    /// <summary>The only child of a metric without labels.</summary>
    public TChild Value => _unlabelled ?? throw new InvalidOperationException($"{Definition.Name} has labels ({string.Join(", ", Definition.Labels)}); use WithLabels");

    public TChild WithLabels(string value)
    {
        ExpectLabels(1);
        if (_children.TryGetValue(value, out var found)) return found;
        return Add(value, [value]);
    }

    public TChild WithLabels(string first, string second)
    {
        ExpectLabels(2);
        string key = string.Concat(first, "\u0000", second);
        if (_children.TryGetValue(key, out var found)) return found;
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
        return Remove(value, [value]);
    }

    /// <inheritdoc cref="Remove(string)"/>
    public bool Remove(string first, string second)
    {
        ExpectLabels(2);
        return Remove(string.Concat(first, "\u0000", second), [first, second]);
    }

    private TChild Add(string key, string[] values)
    {
        foreach (var v in values) ArgumentNullException.ThrowIfNull(v);
        // A race may build two handles; both wrap the one prometheus-net child for these values, and one is kept.
        return _children.GetOrAdd(key, static (_, state) => state.create(state.values), (values, create: _create));
    }

    private bool Remove(string key, string[] values)
    {
        if (!_children.TryRemove(key, out _)) return false;
        _remove(values);
        return true;
    }

    private void ExpectLabels(int count)
    {
        if (Definition.Labels.Length != count)
            throw new ArgumentException($"{Definition.Name} has {Definition.Labels.Length} label(s) ({string.Join(", ", Definition.Labels)}), not {count}");
    }
}
