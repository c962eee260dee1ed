using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Telemetry.Metrics;
using RLMesh.Telemetry.Runtime;

namespace RLMesh.Telemetry.Tests;

/// <summary>The real promtool judges our exposition and our rules (it must be installed: these tests fail, never skip).</summary>
public class PromtoolTests
{
    private static string RulesDirectory => Path.Combine(Tools.RepositoryRoot(), "charts", "rlmesh", "files");

    [Fact]
    public async Task PromtoolAcceptsTheExpositionOfEveryCatalogMetric()
    {
        var registry = new MetricRegistry();
        foreach (var d in MetricCatalog.All)
        {
            string[] values = d.Labels.Select((l, i) => i == 0 ? "runner-\"0\"\\x\ny" : "undecodable").ToArray();
            switch (d.Type)
            {
                case MetricType.Counter:
                    var counter = registry.Counter(d);
                    (values.Length switch { 0 => counter.Value, 1 => counter.WithLabels(values[0]), _ => counter.WithLabels(values[0], values[1]) }).Inc(7);
                    break;
                case MetricType.Gauge:
                    var gauge = registry.Gauge(d);
                    (values.Length switch { 0 => gauge.Value, 1 => gauge.WithLabels(values[0]), _ => gauge.WithLabels(values[0], values[1]) }).Set(-1.5e-3);
                    break;
                case MetricType.Histogram:
                    var histogram = registry.Histogram(d);
                    var child = values.Length == 0 ? histogram.Value : histogram.WithLabels(values[0]);
                    child.Observe(0.003);
                    child.Observe(42);
                    break;
            }
        }
        string text = await registry.RenderAsync(CancellationToken.None);
        Assert.Equal(MetricCatalog.All.Count, text.Split('\n').Count(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)));

        var (exitCode, output) = Tools.Run(Tools.Require("promtool"), ["check", "metrics"], stdin: text);
        Assert.True(exitCode == 0, $"promtool check metrics failed:\n{output}\n--- exposition ---\n{text}");
        Assert.DoesNotContain("problem", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PromtoolAcceptsWhatTheRuntimeMetricsExpose()
    {
        var metrics = new RuntimeMetrics(new MetricRegistry());
        metrics.UnrollProduced("actor-0", 320, [new EpisodeStats(0, 21, 21)]);
        metrics.SyncDecided("actor-0", 3, 5, 0.01);
        metrics.WeightsPulled("actor-0", 18_700, 0.0001);
        metrics.UnrollTrained(2);
        metrics.LearnerUpdated(new LearnerLoss(1, 2, 3, -0.1, 0.69, 0.001, 640), 6, 0.002, 21);
        metrics.SnapshotPublished(0.00002);
        metrics.DivergenceMeasured("actor-0", 0.004);
        metrics.StalenessTargetSet(8);
        metrics.QueueDepth(3);
        string text = await metrics.Registry.RenderAsync(CancellationToken.None);
        Assert.Contains("rlmesh_env_frames_total{runner=\"actor-0\"} 320\n", text);
        Assert.Contains("rlmesh_runner_local_version_lag{runner=\"actor-0\"} 2\n", text);
        Assert.Contains("rlmesh_learner_version 6\n", text);

        var (exitCode, output) = Tools.Run(Tools.Require("promtool"), ["check", "metrics"], stdin: text);
        Assert.True(exitCode == 0, $"promtool check metrics failed:\n{output}\n--- exposition ---\n{text}");
    }

    [Fact]
    public void RulesFilePassesPromtoolCheckRules()
    {
        var (exitCode, output) = Tools.Run(Tools.Require("promtool"), ["check", "rules", "rlmesh-rules.yaml"], workingDirectory: RulesDirectory);
        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public void RulesPassTheirPromtoolUnitTests()
    {
        var (exitCode, output) = Tools.Run(Tools.Require("promtool"), ["test", "rules", "rlmesh-rules.test.yaml"], workingDirectory: RulesDirectory);
        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public void RulesNameOnlyCatalogMetrics()
    {
        string rules = File.ReadAllText(Path.Combine(RulesDirectory, "rlmesh-rules.yaml"));
        var names = System.Text.RegularExpressions.Regex.Matches(rules, @"\brlmesh_[a-z_]+\b").Select(m => m.Value).Distinct().ToList();
        Assert.NotEmpty(names);
        var known = MetricCatalog.All.SelectMany(d => d.Type == MetricType.Histogram
            ? new[] { d.Name, d.Name + "_bucket", d.Name + "_sum", d.Name + "_count" }
            : new[] { d.Name }).ToHashSet();
        Assert.All(names, n => Assert.True(known.Contains(n), $"rules name '{n}', which is not in the catalog"));
    }
}
