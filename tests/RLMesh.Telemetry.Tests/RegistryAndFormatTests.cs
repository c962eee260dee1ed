using RLMesh.Telemetry.Metrics;

namespace RLMesh.Telemetry.Tests;

public class RegistryAndFormatTests
{
    [Fact]
    public void AMetricOutsideTheCatalogIsRefused()
    {
        var registry = new MetricRegistry();
        var stranger = new MetricDefinition("rlmesh_made_up_total", MetricType.Counter, "things", [], "Not in the catalog.");
        var error = Assert.Throws<ArgumentException>(() => registry.Counter(stranger));
        Assert.Contains("not in the metric catalog", error.Message);
    }

    [Fact]
    public void ACatalogMetricRegisteredAsAnotherTypeOrWithOtherLabelsIsRefused()
    {
        var registry = new MetricRegistry();
        Assert.Throws<ArgumentException>(() => registry.Gauge(MetricCatalog.EnvFrames));
        var relabelled = MetricCatalog.EnvFrames with { Labels = ["pod"] };
        Assert.Throws<ArgumentException>(() => registry.Counter(relabelled));
    }

    [Fact]
    public void RegisteringTwiceReturnsTheSameFamily()
    {
        var registry = new MetricRegistry();
        Assert.Same(registry.Counter(MetricCatalog.EnvFrames), registry.Counter(MetricCatalog.EnvFrames));
        Assert.Same(registry.Counter(MetricCatalog.EnvFrames).WithLabels("a"), registry.Counter(MetricCatalog.EnvFrames).WithLabels("a"));
    }

    [Theory]
    [InlineData("Two\nlines.")]
    [InlineData("A back\\slash.")]
    [InlineData("")]
    public void ACatalogWithHelpTheExpositionCannotCarryIsRefused(string help)
    {
        var entry = new MetricDefinition("rlmesh_made_up_total", MetricType.Counter, "things", [], help);
        var error = Assert.Throws<ArgumentException>(() => new MetricRegistry([entry]));
        Assert.Contains("help", error.Message);
    }

    [Fact]
    public void WrongNumberOfLabelValuesIsRefused()
    {
        var registry = new MetricRegistry();
        Assert.Throws<ArgumentException>(() => registry.Counter(MetricCatalog.DeadLetters).WithLabels("only-queue"));
        Assert.Throws<InvalidOperationException>(() => registry.Counter(MetricCatalog.EnvFrames).Value);
    }

    [Fact]
    public void EveryCatalogEntryIsAValidPrometheusMetric()
    {
        // The registry's constructor checks names, label names, _total on counters and buckets on histograms.
        var registry = new MetricRegistry(MetricCatalog.All);
        Assert.Equal(MetricCatalog.All.Count, MetricCatalog.All.Select(d => d.Name).Distinct().Count());
        Assert.All(MetricCatalog.All, d => Assert.Equal(d.Type == MetricType.Histogram, d.Buckets is not null));
        Assert.Empty(registry.Families());
    }

    [Fact]
    public async Task ExpositionHasHelpTypeAndEscapedLabelValues()
    {
        var registry = new MetricRegistry();
        registry.Counter(MetricCatalog.DeadLetters).WithLabels("trajectories", "bad \"proto\"\\n\nline").Inc(3);
        string text = await registry.RenderAsync(CancellationToken.None);
        Assert.Contains("# HELP rlmesh_dead_letters_total Messages refused (undecodable or invalid) and dead-lettered.\n", text);
        Assert.Contains("# TYPE rlmesh_dead_letters_total counter\n", text);
        Assert.Contains("rlmesh_dead_letters_total{queue=\"trajectories\",reason=\"bad \\\"proto\\\"\\\\n\\nline\"} 3\n", text);
    }

    [Fact]
    public async Task HistogramExpositionHasCumulativeBucketsInfSumAndCount()
    {
        var registry = new MetricRegistry();
        var lag = registry.Histogram(MetricCatalog.PolicyLag).Value;
        lag.Observe(0);
        lag.Observe(2);
        lag.Observe(500);
        string text = await registry.RenderAsync(CancellationToken.None);
        Assert.Contains("# TYPE rlmesh_policy_lag_versions histogram\n", text);
        Assert.Contains("rlmesh_policy_lag_versions_bucket{le=\"0\"} 1\n", text);
        Assert.Contains("rlmesh_policy_lag_versions_bucket{le=\"2\"} 2\n", text);
        Assert.Contains("rlmesh_policy_lag_versions_bucket{le=\"128\"} 2\n", text);
        Assert.Contains("rlmesh_policy_lag_versions_bucket{le=\"+Inf\"} 3\n", text);
        Assert.Contains("rlmesh_policy_lag_versions_sum 502\n", text);
        Assert.Contains("rlmesh_policy_lag_versions_count 3\n", text);
    }


    [Fact]
    public async Task ARemovedLabelledChildLeavesTheExpositionAndComesBackFresh()
    {
        var registry = new MetricRegistry();
        var lag = registry.Gauge(MetricCatalog.RunnerVersionLag);
        lag.WithLabels("runner-0").Set(3);
        lag.WithLabels("runner-1").Set(5);
        var letters = registry.Counter(MetricCatalog.DeadLetters);
        letters.WithLabels("unrolls", "nan").Inc(2);

        Assert.True(lag.Remove("runner-0"));
        Assert.False(lag.Remove("runner-0"));
        Assert.True(letters.Remove("unrolls", "nan"));
        string text = await registry.RenderAsync(CancellationToken.None);
        Assert.DoesNotContain("runner-0", text);
        Assert.Contains("rlmesh_runner_version_lag{runner=\"runner-1\"} 5\n", text);
        // The family keeps its # HELP/# TYPE lines once it existed; its last series is gone.
        Assert.DoesNotContain(text.Split('\n'), line => line.StartsWith("rlmesh_dead_letters_total", StringComparison.Ordinal));

        Assert.Equal(0, lag.WithLabels("runner-0").Value);
        lag.WithLabels("runner-0").Set(1);
        Assert.Contains("rlmesh_runner_version_lag{runner=\"runner-0\"} 1\n", await registry.RenderAsync(CancellationToken.None));
        Assert.Throws<ArgumentException>(() => lag.Remove("a", "b"));
    }

    [Fact]
    public async Task LabelledFamiliesWithoutChildrenAreLeftOut()
    {
        var registry = new MetricRegistry();
        registry.Counter(MetricCatalog.EnvFrames);
        registry.Counter(MetricCatalog.LearnerUpdates);
        string text = await registry.RenderAsync(CancellationToken.None);
        Assert.DoesNotContain("rlmesh_env_frames_total", text);
        Assert.Contains("rlmesh_learner_updates_total 0\n", text);
    }
}
