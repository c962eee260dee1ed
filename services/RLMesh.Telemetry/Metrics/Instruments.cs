namespace RLMesh.Telemetry.Metrics;

/// <summary>A monotonically increasing value. Lock-free and allocation-free: one compare-exchange per increment.</summary>
public sealed class Counter
{
    private double _value;

    public double Value => Volatile.Read(ref _value);

    public void Inc() => Add(1);

    public void Inc(long amount) => Add(amount);

    public void Add(double amount)
    {
        if (!(amount >= 0)) throw new ArgumentOutOfRangeException(nameof(amount), "a counter only goes up");
        AtomicDouble.Add(ref _value, amount);
    }
}

/// <summary>A value that goes up and down. Set is one atomic write.</summary>
public sealed class Gauge
{
    private double _value;

    public double Value => Volatile.Read(ref _value);

    public void Set(double value) => Interlocked.Exchange(ref _value, value);

    public void Add(double amount) => AtomicDouble.Add(ref _value, amount);
}

/// <summary>
/// Counts observations into fixed buckets. One interlocked increment of the bucket plus one compare-exchange of
/// the sum per observation; no allocation. The count is derived from the buckets when rendering, so _count
/// always equals the +Inf bucket.
/// </summary>
public sealed class Histogram
{
    private readonly double[] _bounds;
    private readonly long[] _counts;
    private double _sum;

    public Histogram(double[] bounds)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        for (int i = 0; i < bounds.Length; i++)
        {
            if (!double.IsFinite(bounds[i])) throw new ArgumentException("bucket bounds must be finite (+Inf is implied)", nameof(bounds));
            if (i > 0 && !(bounds[i] > bounds[i - 1])) throw new ArgumentException("bucket bounds must be strictly ascending", nameof(bounds));
        }
        _bounds = bounds;
        _counts = new long[bounds.Length + 1];
    }

    public ReadOnlySpan<double> Bounds => _bounds;

    public void Observe(double value)
    {
        if (double.IsNaN(value)) return;
        int i = 0;
        while (i < _bounds.Length && value > _bounds[i]) i++;
        Interlocked.Increment(ref _counts[i]);
        AtomicDouble.Add(ref _sum, value);
    }

    public double Sum => Volatile.Read(ref _sum);

    public long Count
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _counts.Length; i++) total += Volatile.Read(ref _counts[i]);
            return total;
        }
    }

    /// <summary>Cumulative counts per bucket (the last one is +Inf), as the exposition format wants them.</summary>
    public long[] CumulativeCounts()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            cumulative[i] = running;
        }
        return cumulative;
    }
}

internal static class AtomicDouble
{
    public static void Add(ref double location, double amount)
    {
        double initial, computed;
        do
        {
            initial = Volatile.Read(ref location);
            computed = initial + amount;
        }
        while (BitConverter.DoubleToInt64Bits(Interlocked.CompareExchange(ref location, computed, initial)) != BitConverter.DoubleToInt64Bits(initial));
    }
}
