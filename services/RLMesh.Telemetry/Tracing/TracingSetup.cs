using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RLMesh.Core.Runtime;

namespace RLMesh.Telemetry.Tracing;

/// <summary>
/// OpenTelemetry tracing for the "RLMesh" ActivitySource, configured by the standard variables and off by
/// default. It is on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, or
/// OTEL_TRACES_EXPORTER=otlp; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none keep it off. The OTLP exporter
/// reads the rest itself (OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, _TIMEOUT); OTEL_SERVICE_NAME and
/// OTEL_RESOURCE_ATTRIBUTES name the resource. Off means no TracerProvider, hence no ActivityListener, hence
/// StartActivity returns null and spans cost nothing.
/// </summary>
public static class TracingSetup
{
    public static bool IsEnabled(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (string.Equals(environment("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase)) return false;
        string? exporter = environment("OTEL_TRACES_EXPORTER");
        if (string.Equals(exporter, "none", StringComparison.OrdinalIgnoreCase)) return false;
        return string.Equals(exporter, "otlp", StringComparison.OrdinalIgnoreCase)
            || !string.IsNullOrEmpty(environment("OTEL_EXPORTER_OTLP_ENDPOINT"))
            || !string.IsNullOrEmpty(environment("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    }

    /// <summary>A tracer provider exporting RLMesh spans over OTLP, or null when tracing is off. Dispose it at shutdown (it flushes).</summary>
    public static TracerProvider? StartFromEnvironment(string serviceName)
    {
        if (!IsEnabled()) return null;
        var resource = ResourceBuilder.CreateDefault();
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
            resource.AddService(serviceName);
        return Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(Spans.SourceName)
            .AddOtlpExporter()
            .Build();
    }
}
