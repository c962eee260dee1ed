using RLMesh.Core.Data;
using RLMesh.ParameterServer;
using RLMesh.Telemetry.Metrics;
using RLMesh.Telemetry.Runtime;

namespace RLMesh.Telemetry.Tests;

/// <summary>A series with one name and label set must come from one job, or dashboards and rules that sum over jobs count it twice.</summary>
public class MetricOwnershipTests
{
    [Fact]
    public async Task RunnersAndTheParameterServerNeverExportASeriesUnderTheSameName()
    {
        // What an env-runner process exports about itself ...
        var runner = new RuntimeMetrics(new MetricRegistry());
        runner.UnrollProduced("runner-0", 320, [new EpisodeStats(0, 21, 21)]);
        runner.SyncDecided("runner-0", 3, 5, 0.1);
        runner.WeightsPulled("runner-0", 18_700, 0.0001);
        // ... and what the parameter server exports about the same runner from its heartbeats.
        var registry = new MetricRegistry();
        var parameterServer = new ParameterServerStats(registry);
        parameterServer.VersionLag.WithLabels("runner-0").Set(2);
        parameterServer.HeartbeatAge.WithLabels("runner-0").Set(0.4);
        parameterServer.RunnersConnected.Set(1);

        var fromRunner = await ExportedNamesAsync(runner.Registry);
        var fromParameterServer = await ExportedNamesAsync(registry);
        var both = fromRunner.Intersect(fromParameterServer).ToList();
        Assert.True(both.Count == 0, $"exported by runners and by the parameter server: {string.Join(", ", both)}");
        Assert.Contains(MetricCatalog.RunnerLocalVersionLag.Name, fromRunner);
        Assert.Contains(MetricCatalog.RunnerVersionLag.Name, fromParameterServer);
    }

    private static async Task<HashSet<string>> ExportedNamesAsync(MetricRegistry registry) =>
        (await registry.RenderAsync(CancellationToken.None)).Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
}
