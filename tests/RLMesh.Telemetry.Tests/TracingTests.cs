using System.Diagnostics;
using System.Text;
using RLMesh.Core.Runtime;
using RLMesh.Telemetry.Tracing;

namespace RLMesh.Telemetry.Tests;

[Collection("activity listeners")]
public class TracingTests
{
    [Fact]
    public void WithoutAListenerSpansAreNotCreated()
    {
        Assert.False(Spans.Source.HasListeners());
        Assert.Null(Spans.Source.StartActivity(Spans.Update));
        var headers = new Dictionary<string, object?>();
        AmqpTraceContext.Inject(null, headers);
        Assert.Empty(headers);
    }

    [Fact]
    public void TraceContextSurvivesAnAmqpHopWithByteArrayHeaders()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Spans.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var headers = new Dictionary<string, object?>();
        ActivityTraceId traceId;
        ActivitySpanId publisherSpan;
        using (var publish = AmqpTraceContext.StartPublish("trajectories"))
        {
            Assert.NotNull(publish);
            traceId = publish.TraceId;
            publisherSpan = publish.SpanId;
            AmqpTraceContext.Inject(publish, headers);
        }
        Assert.True(headers.ContainsKey("traceparent"));

        // The broker hands header strings back as byte[].
        var received = headers.ToDictionary(kv => kv.Key, kv => (object?)Encoding.UTF8.GetBytes((string)kv.Value!));
        using (var consume = AmqpTraceContext.StartConsume(received, "trajectories"))
        {
            Assert.NotNull(consume);
            Assert.Equal(ActivityKind.Consumer, consume.Kind);
            Assert.Equal(traceId, consume.TraceId);
            Assert.Equal(publisherSpan, consume.ParentSpanId);
        }
        Assert.Contains(stopped, a => a.OperationName == Spans.Consume);
    }

    [Fact]
    public void MissingOrGarbledHeadersGiveNoParent()
    {
        Assert.Equal(default, AmqpTraceContext.Extract(null).ActivityContext);
        var garbled = new Dictionary<string, object?> { ["traceparent"] = "00-nonsense"u8.ToArray() };
        Assert.Equal(default, AmqpTraceContext.Extract(garbled).ActivityContext);
    }

    [Theory]
    [InlineData(null, null, null, null, false)]
    [InlineData("http://collector:4317", null, null, null, true)]
    [InlineData(null, "http://collector:4318/v1/traces", null, null, true)]
    [InlineData(null, null, "otlp", null, true)]
    [InlineData("http://collector:4317", null, "none", null, false)]
    [InlineData("http://collector:4317", null, null, "true", false)]
    public void TracingIsOnOnlyWhenTheStandardVariablesAskForIt(string? endpoint, string? tracesEndpoint, string? exporter, string? disabled, bool expected)
    {
        var env = new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = tracesEndpoint,
            ["OTEL_TRACES_EXPORTER"] = exporter,
            ["OTEL_SDK_DISABLED"] = disabled,
        };
        Assert.Equal(expected, TracingSetup.IsEnabled(name => env.GetValueOrDefault(name)));
    }
}
