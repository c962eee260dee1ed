using RLMesh.Telemetry.Metrics;

namespace RLMesh.Telemetry.Tests;

public class InstrumentTests
{
    [Fact]
    public void ConcurrentIncrementsAreNeverLost()
    {
        var registry = new MetricRegistry();
        var counter = registry.Counter(MetricCatalog.LearnerUpdates).Value;
        var histogram = registry.Histogram(MetricCatalog.PolicyLag).Value;
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
        var counter = new MetricRegistry().Counter(MetricCatalog.LearnerUpdates).Value;
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Add(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Add(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(-3L));
        Assert.Equal(0, counter.Value);
    }

    [Fact]
    public void AHistogramIgnoresNaN()
    {
        var histogram = new MetricRegistry().Histogram(MetricCatalog.PolicyLag).Value;
        histogram.Observe(double.NaN);
        histogram.Observe(3);
        Assert.Equal(1, histogram.Count);
        Assert.Equal(3, histogram.Sum);
    }

    [Fact]
    public void GaugeHoldsTheLastValueAndAddsAtomically()
    {
        var gauge = new MetricRegistry().Gauge(MetricCatalog.LearnerEntropy).Value;
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
        var lossTerm = registry.Gauge(MetricCatalog.LearnerLoss).WithLabels("total");
        family.WithLabels("runner-0").Inc();
        frames.Inc(1);
        lag.Observe(1);
        lossTerm.Set(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            frames.Inc(320);
            lag.Observe(i % 7);
            family.WithLabels("runner-0").Inc();
            lossTerm.Set(i);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(10_001 * 320 - 319, frames.Value);
    }

    [Fact]
    public async Task EveryLookupOfAChildReachesTheSeriesTheExpositionShows()
    {
        // Call sites look families up independently (RuntimeMetrics, the services' stats): all must feed one series.
        var registry = new MetricRegistry();
        registry.Counter(MetricCatalog.EnvFrames).WithLabels("runner-0").Inc(640);
        var again = registry.Counter(MetricCatalog.EnvFrames).WithLabels("runner-0");
        again.Inc(1);
        Assert.Equal(641, again.Value);
        Assert.Contains("rlmesh_env_frames_total{runner=\"runner-0\"} 641\n", await registry.RenderAsync(CancellationToken.None));
    }
}
