using RLMesh.Telemetry.Metrics;

namespace RLMesh.Telemetry.Tests;

public class InstrumentTests
{
    [Fact]
    public void ConcurrentIncrementsAreNeverLost()
    {
        var counter = new Counter();
        var histogram = new Histogram([1, 2, 3]);
        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                counter.Inc();
                histogram.Observe(i % 4);
            }
        });
        Assert.Equal(400_000, counter.Value);
        Assert.Equal(400_000, histogram.Count);
        Assert.Equal(4 * 25_000 * (0 + 1 + 2 + 3), histogram.Sum);
    }

    [Fact]
    public void ACounterRefusesToGoDown()
    {
        var counter = new Counter();
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Add(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Add(double.NaN));
        Assert.Equal(0, counter.Value);
    }

    [Fact]
    public void HistogramBucketsAreCumulativeWithUpperBoundsInclusive()
    {
        var histogram = new Histogram([1, 5]);
        foreach (var x in new[] { 0.5, 1, 3, 5, 7, 100 }) histogram.Observe(x);
        Assert.Equal([2L, 4L, 6L], histogram.CumulativeCounts());
        Assert.Equal(6, histogram.Count);
        Assert.Equal(116.5, histogram.Sum);
    }

    [Fact]
    public void HistogramBoundsMustAscendAndBeFinite()
    {
        Assert.Throws<ArgumentException>(() => new Histogram([2, 1]));
        Assert.Throws<ArgumentException>(() => new Histogram([1, double.PositiveInfinity]));
    }

    [Fact]
    public void GaugeHoldsTheLastValueAndAddsAtomically()
    {
        var gauge = new Gauge();
        gauge.Set(3.5);
        Parallel.For(0, 1000, _ => gauge.Add(-0.5));
        Assert.Equal(-496.5, gauge.Value);
    }

    [Fact]
    public void IncrementingACachedChildDoesNotAllocate()
    {
        var registry = new MetricRegistry();
        var frames = registry.Counter(MetricCatalog.EnvFrames).WithLabels("runner-0");
        var lag = registry.Histogram(MetricCatalog.PolicyLag).Value;
        var family = registry.Counter(MetricCatalog.WeightPulls);
        family.WithLabels("runner-0").Inc();
        frames.Inc(1);
        lag.Observe(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            frames.Inc(320);
            lag.Observe(i % 7);
            family.WithLabels("runner-0").Inc();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(10_001 * 320 - 319, frames.Value);
    }
}
