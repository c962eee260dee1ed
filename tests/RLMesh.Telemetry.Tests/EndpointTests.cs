using System.Net;
using System.Text.Json;
using RLMesh.Telemetry.Aps;
using RLMesh.Telemetry.Hosting;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.Telemetry.Tests;

public class EndpointTests
{
    [Fact]
    public async Task MetricsHealthAndReadinessAreServedOverKestrel()
    {
        var registry = new MetricRegistry();
        registry.Counter(MetricCatalog.LearnerUpdates).Value.Inc(5);
        await using var host = await TelemetryHosting.StartMetricsHostAsync(registry, "http://127.0.0.1:0", "test", CancellationToken.None);
        using var http = new HttpClient { BaseAddress = host.Address };

        using var metrics = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", metrics.Content.Headers.ContentType!.ToString());
        Assert.Contains("rlmesh_learner_updates_total 5\n", await metrics.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/readyz")).StatusCode);
        host.Readiness.MarkReady();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
        host.Readiness.MarkNotReady("lost the queue");
        var notReady = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("lost the queue", await notReady.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MetricsEndpointServesOnlyCatalogMetricsInTextFormatThatPromtoolAccepts()
    {
        // prometheus-net's default collectors (process_*, dotnet_*, its own debug metrics) live in its static registry,
        // which /metrics never serves: they would be names outside the catalog, and some fail promtool.
        var registry = new MetricRegistry();
        var runtime = new Runtime.RuntimeMetrics(registry);
        runtime.UnrollProduced("runner-0", 320, [new RLMesh.Core.Data.EpisodeStats(0, 21, 21)]);
        runtime.UnrollTrained(1);
        runtime.DivergenceMeasured("runner-0", 0.002);
        await using var host = await TelemetryHosting.StartMetricsHostAsync(registry, "http://127.0.0.1:0", "test", CancellationToken.None);
        using var http = new HttpClient { BaseAddress = host.Address };
        // What Prometheus 2.x asks for first; the answer stays text 0.0.4, so bucket labels never change form.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();

        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString());
        Assert.DoesNotContain("# EOF", text);
        Assert.Contains("rlmesh_policy_lag_versions_bucket{le=\"1\"} 1\n", text);
        var catalog = MetricCatalog.All.Select(d => d.Name).ToHashSet();
        var families = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.NotEmpty(families);
        Assert.All(families, name => Assert.Contains(name, catalog));
        var (exitCode, output) = Tools.Run(Tools.Require("promtool"), ["check", "metrics"], stdin: text);
        Assert.True(exitCode == 0, $"promtool check metrics failed:\n{output}\n--- /metrics ---\n{text}");
    }

    [Fact]
    public void WebHostsWatchNoConfigurationFileAndDoNotRootThemselvesInTheWorkingDirectory()
    {
        // The defaults watch appsettings*.json under the working directory, recursively: a launch from a checkout woke
        // every role's file-watch thread for each log line written under ./rlmesh-logs.
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder(TelemetryHosting.WebHostOptions());
        var files = ((Microsoft.Extensions.Configuration.IConfigurationBuilder)builder.Configuration).Sources
            .OfType<Microsoft.Extensions.Configuration.FileConfigurationSource>().ToList();
        Assert.NotEmpty(files); // the defaults still add appsettings.json, only without watching it
        Assert.All(files, source => Assert.False(source.ReloadOnChange, $"{source.Path} is watched"));
        Assert.Equal(Path.GetFullPath(AppContext.BaseDirectory).TrimEnd('/'), builder.Environment.ContentRootPath.TrimEnd('/'));
    }

    [Theory]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"3.25"]}]}}""", 3.25)]
    [InlineData("""{"status":"success","data":{"resultType":"scalar","result":[1700000000.1,"7"]}}""", 7.0)]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[]}}""", null)]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"NaN"]}]}}""", null)]
    [InlineData("""{"status":"error","errorType":"bad_data","error":"parse error"}""", null)]
    public void PrometheusQueryRepliesBecomeAStalenessFigureOrNone(string reply, double? expected)
    {
        using var json = JsonDocument.Parse(reply);
        Assert.Equal(expected, PrometheusStalenessSource.ParseInstantValue(json.RootElement));
    }
}
