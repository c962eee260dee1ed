using System.Collections.Concurrent;
using System.Text;
using Prometheus;

namespace RLMesh.Telemetry.Metrics;

/// <summary>
/// The metrics one process exposes: a prometheus-net <see cref="CollectorRegistry"/> of its own (never prometheus-net's
/// static default registry, whose process and runtime collectors fail `promtool check metrics`), filled only from the
/// catalog. A name outside the catalog, or a catalog name with a different type or labels, is refused, so dashboards
/// and rules never meet a surprise. Registering the same metric twice returns the same family.
/// </summary>
public sealed class MetricRegistry
{
    private readonly Dictionary<string, MetricDefinition> _catalog;
    private readonly ConcurrentDictionary<string, Lazy<MetricFamily>> _families = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<MetricDefinition> _order;
    private readonly IMetricFactory _factory;

    public MetricRegistry() : this(MetricCatalog.All) { }

    public MetricRegistry(IReadOnlyList<MetricDefinition> catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _order = catalog;
        _catalog = catalog.ToDictionary(d => d.Name, StringComparer.Ordinal);
        foreach (var d in catalog) CheckDefinition(d);
        Collectors = Prometheus.Metrics.NewCustomRegistry();
        _factory = Prometheus.Metrics.WithCustomRegistry(Collectors);
        // Exemplars need OpenMetrics, which /metrics does not offer; off, an update never looks at Activity.Current.
        _factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
    }

    /// <summary>The prometheus-net registry behind this one: what /metrics serves.</summary>
    public CollectorRegistry Collectors { get; }

    public MetricFamily<Counter> Counter(MetricDefinition definition) =>
        Register(definition, MetricType.Counter, known =>
        {
            var collector = new Lazy<Prometheus.Counter>(() => _factory.CreateCounter(known.Name, known.Help, known.Labels));
            return new MetricFamily<Counter>(known, values => new Counter(collector.Value.WithLabels(values)), values => collector.Value.RemoveLabelled(values));
        });

    public MetricFamily<Gauge> Gauge(MetricDefinition definition) =>
        Register(definition, MetricType.Gauge, known =>
        {
            var collector = new Lazy<Prometheus.Gauge>(() => _factory.CreateGauge(known.Name, known.Help, known.Labels));
            return new MetricFamily<Gauge>(known, values => new Gauge(collector.Value.WithLabels(values)), values => collector.Value.RemoveLabelled(values));
        });

    public MetricFamily<Histogram> Histogram(MetricDefinition definition) =>
        Register(definition, MetricType.Histogram, known =>
        {
            var collector = new Lazy<Prometheus.Histogram>(() => _factory.CreateHistogram(known.Name, known.Help, known.Labels,
                new HistogramConfiguration { Buckets = known.Buckets }));
            return new MetricFamily<Histogram>(known, values => new Histogram(collector.Value.WithLabels(values)), values => collector.Value.RemoveLabelled(values));
        });

    private MetricFamily<T> Register<T>(MetricDefinition definition, MetricType type, Func<MetricDefinition, MetricFamily<T>> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_catalog.TryGetValue(definition.Name, out var known))
            throw new ArgumentException($"'{definition.Name}' is not in the metric catalog (RLMesh.Telemetry.MetricCatalog); add it there first");
        if (known.Type != definition.Type || !known.Labels.SequenceEqual(definition.Labels))
            throw new ArgumentException($"'{definition.Name}' differs from its catalog entry (type {known.Type}, labels [{string.Join(", ", known.Labels)}])");
        if (known.Type != type)
            throw new ArgumentException($"'{definition.Name}' is a {known.Type.ToString().ToLowerInvariant()}, not a {type.ToString().ToLowerInvariant()}");
        // Lazy: GetOrAdd may run its factory twice under a race, and a family's constructor registers a collector.
        var family = _families.GetOrAdd(known.Name, static (_, state) => new Lazy<MetricFamily>(() => state.create(state.known)), (known, create)).Value;
        return (MetricFamily<T>)family;
    }

    /// <summary>All registered families in catalog order.</summary>
    public IEnumerable<MetricFamily> Families()
    {
        foreach (var d in _order)
            if (_families.TryGetValue(d.Name, out var family)) yield return family.Value;
    }

    /// <summary>The Prometheus text exposition (format 0.0.4) of every collector, as /metrics serves it.</summary>
    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        using var text = new MemoryStream();
        await Collectors.CollectAndExportAsTextAsync(text, ExpositionFormat.PrometheusText, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }

    private static void CheckDefinition(MetricDefinition d)
    {
        if (!IsValidMetricName(d.Name)) throw new ArgumentException($"'{d.Name}' is not a valid Prometheus metric name");
        foreach (var label in d.Labels)
            if (!IsValidLabelName(label) || label == "le") throw new ArgumentException($"'{d.Name}': '{label}' is not a usable label name");
        if (d.Type == MetricType.Counter && !d.Name.EndsWith("_total", StringComparison.Ordinal))
            throw new ArgumentException($"counter '{d.Name}' must end in _total");
        if (d.Type == MetricType.Histogram && d.Buckets is null)
            throw new ArgumentException($"histogram '{d.Name}' needs buckets");
        // prometheus-net writes # HELP verbatim: a newline would end the line early, a backslash starts an escape.
        if (d.Help.Length == 0 || d.Help.Contains('\n', StringComparison.Ordinal) || d.Help.Contains('\\', StringComparison.Ordinal))
            throw new ArgumentException($"'{d.Name}': help must be one non-empty line without backslashes");
    }

    private static bool IsValidMetricName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or ':') && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    private static bool IsValidLabelName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !name.StartsWith("__", StringComparison.Ordinal);
}
