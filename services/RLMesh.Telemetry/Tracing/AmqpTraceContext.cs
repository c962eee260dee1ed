using System.Diagnostics;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using RLMesh.Core.Runtime;

namespace RLMesh.Telemetry.Tracing;

/// <summary>
/// W3C trace context (traceparent, tracestate) and baggage carried in AMQP message headers
/// (RabbitMQ.Client's BasicProperties.Headers, an IDictionary&lt;string, object?&gt;). Values are written as strings;
/// they come back from the broker as byte[], which extraction accepts as well as strings.
/// Usage: publisher: <c>using var span = AmqpTraceContext.StartPublish(); AmqpTraceContext.Inject(span, props.Headers ??= new Dictionary&lt;string, object?&gt;());</c>
/// consumer: <c>using var span = AmqpTraceContext.StartConsume(ea.BasicProperties.Headers);</c>
/// </summary>
public static class AmqpTraceContext
{
    private static readonly TextMapPropagator Propagator =
        new CompositeTextMapPropagator([new TraceContextPropagator(), new BaggagePropagator()]);

    /// <summary>Writes the activity's context (if any) into the headers. No activity (tracing off): nothing is written.</summary>
    public static void Inject(Activity? activity, IDictionary<string, object?> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (activity is null) return;
        Propagator.Inject(new PropagationContext(activity.Context, Baggage.Current), headers,
            static (carrier, key, value) => carrier[key] = value);
    }

    /// <summary>The parent context carried by the headers (default when absent or malformed).</summary>
    public static PropagationContext Extract(IDictionary<string, object?>? headers)
    {
        if (headers is null) return default;
        return Propagator.Extract(default, headers, static (carrier, key) =>
            carrier.TryGetValue(key, out var value) ? value switch
            {
                byte[] bytes => [Encoding.UTF8.GetString(bytes)],
                string text => [text],
                ReadOnlyMemory<byte> memory => [Encoding.UTF8.GetString(memory.Span)],
                _ => [],
            } : []);
    }

    public static Activity? StartPublish(string queue = "") =>
        Start(Spans.Publish, ActivityKind.Producer, default, queue);

    /// <summary>Starts a consumer span whose parent is the publisher's span carried in the headers.</summary>
    public static Activity? StartConsume(IDictionary<string, object?>? headers, string queue = "")
    {
        var parent = Extract(headers);
        if (parent.Baggage != default) Baggage.Current = parent.Baggage;
        return Start(Spans.Consume, ActivityKind.Consumer, parent.ActivityContext, queue);
    }

    private static Activity? Start(string name, ActivityKind kind, ActivityContext parent, string queue)
    {
        var activity = Spans.Source.StartActivity(name, kind, parent);
        if (activity is not null && queue.Length > 0)
        {
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.destination.name", queue);
        }
        return activity;
    }
}
