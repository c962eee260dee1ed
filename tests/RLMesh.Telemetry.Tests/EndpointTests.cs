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
