using System.Collections.Concurrent;
using System.Text;

namespace RLMesh.Telemetry.Metrics;

/// <summary>
/// The metrics one process exposes. Only catalog metrics can be registered (a name outside the catalog, or a
/// catalog name with a different type or labels, is refused), so dashboards and rules never meet a surprise.
/// Registering the same metric twice returns the same family.
/// </summary>
public sealed class MetricRegistry
{
    private readonly Dictionary<string, MetricDefinition> _catalog;
    private readonly ConcurrentDictionary<string, MetricFamily> _families = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<MetricDefinition> _order;

    public MetricRegistry() : this(MetricCatalog.All) { }

    public MetricRegistry(IReadOnlyList<MetricDefinition> catalog)
    {
        _order = catalog;
        _catalog = catalog.ToDictionary(d => d.Name, StringComparer.Ordinal);
        foreach (var d in catalog) CheckDefinition(d);
    }

    public MetricFamily<Counter> Counter(MetricDefinition definition) =>
        Register(definition, MetricType.Counter, static _ => new Counter());

    public MetricFamily<Gauge> Gauge(MetricDefinition definition) =>
        Register(definition, MetricType.Gauge, static _ => new Gauge());

    public MetricFamily<Histogram> Histogram(MetricDefinition definition) =>
        Register(definition, MetricType.Histogram, static d => new Histogram(d.Buckets!));

    private MetricFamily<T> Register<T>(MetricDefinition definition, MetricType type, Func<MetricDefinition, T> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_catalog.TryGetValue(definition.Name, out var known))
            throw new ArgumentException($"'{definition.Name}' is not in the metric catalog (RLMesh.Telemetry.MetricCatalog); add it there first");
        if (known.Type != definition.Type || !known.Labels.SequenceEqual(definition.Labels))
            throw new ArgumentException($"'{definition.Name}' differs from its catalog entry (type {known.Type}, labels [{string.Join(", ", known.Labels)}])");
        if (known.Type != type)
            throw new ArgumentException($"'{definition.Name}' is a {known.Type.ToString().ToLowerInvariant()}, not a {type.ToString().ToLowerInvariant()}");
        var family = _families.GetOrAdd(known.Name, static (_, state) => new MetricFamily<T>(state.known, () => state.create(state.known)), (known, create));
        return (MetricFamily<T>)family;
    }

    /// <summary>All registered families in catalog order.</summary>
    public IEnumerable<MetricFamily> Families()
    {
        foreach (var d in _order)
            if (_families.TryGetValue(d.Name, out var family)) yield return family;
    }

    /// <summary>The Prometheus text exposition (format 0.0.4) of every registered family.</summary>
    public string Render()
    {
        var text = new StringBuilder(4096);
        PrometheusTextFormat.Write(text, Families());
        return text.ToString();
    }

    private static void CheckDefinition(MetricDefinition d)
    {
        if (!PrometheusTextFormat.IsValidMetricName(d.Name)) throw new ArgumentException($"'{d.Name}' is not a valid Prometheus metric name");
        foreach (var label in d.Labels)
            if (!PrometheusTextFormat.IsValidLabelName(label) || label == "le") throw new ArgumentException($"'{d.Name}': '{label}' is not a usable label name");
        if (d.Type == MetricType.Counter && !d.Name.EndsWith("_total", StringComparison.Ordinal))
            throw new ArgumentException($"counter '{d.Name}' must end in _total");
        if (d.Type == MetricType.Histogram && d.Buckets is null)
            throw new ArgumentException($"histogram '{d.Name}' needs buckets");
    }
}
