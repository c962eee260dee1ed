namespace RLMesh.Telemetry.Metrics;

// Catalog-checked handles on prometheus-net children. Hot paths keep the handle they use (it never changes); each call
// is one prometheus-net update (lock-free, no allocation: exemplars are off, see MetricRegistry).

/// <summary>A monotonically increasing value.</summary>
public sealed class Counter
{
    private readonly Prometheus.Counter.Child _child;

    internal Counter(Prometheus.Counter.Child child) => _child = child;

    public double Value => _child.Value;

    public void Inc() => _child.Inc();

    public void Inc(long amount) => Add(amount);

    public void Add(double amount)
    {
        // Checked here so NaN is refused too (it would poison the series for good).
        if (!(amount >= 0)) throw new ArgumentOutOfRangeException(nameof(amount), "a counter only goes up");
        _child.Inc(amount);
    }
}

/// <summary>A value that goes up and down.</summary>
public sealed class Gauge
{
    private readonly Prometheus.Gauge.Child _child;

    internal Gauge(Prometheus.Gauge.Child child) => _child = child;

    public double Value => _child.Value;

    public void Set(double value) => _child.Set(value);

    public void Add(double amount) => _child.Inc(amount);
}

/// <summary>Counts observations into the catalog's buckets (upper bounds inclusive, +Inf implied).</summary>
public sealed class Histogram
{
    private readonly Prometheus.Histogram.Child _child;

    internal Histogram(Prometheus.Histogram.Child child) => _child = child;

    public void Observe(double value)
    {
        // NaN falls in no bucket; counting it would make _count disagree with the buckets' meaning.
        if (double.IsNaN(value)) return;
        _child.Observe(value);
    }

    public double Sum => _child.Sum;

    public long Count => _child.Count;
}
