using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;
using Prometheus;
using RLMesh.Telemetry.Metrics;
using RLMesh.Telemetry.Tracing;

namespace RLMesh.Telemetry.Hosting;

/// <summary>
/// Whether this process can do its work (connected to its queue and store, first snapshot loaded ...).
/// /readyz answers 503 until <see cref="MarkReady"/>; /healthz only says the process is alive.
/// </summary>
public sealed class Readiness
{
    private volatile string? _notReadyReason = "starting";

    public bool IsReady => _notReadyReason is null;
    public string? Reason => _notReadyReason;
    public void MarkReady() => _notReadyReason = null;
    public void MarkNotReady(string reason) => _notReadyReason = reason;
}

/// <summary>
/// What every RLMesh service calls: <c>builder.AddRLMeshTelemetry("learner")</c> (metric registry, readiness,
/// tracing from OTEL_*), then <c>app.MapRLMeshEndpoints()</c> (/metrics, /healthz, /readyz, always on).
/// </summary>
public static class TelemetryHosting
{
    public static TBuilder AddRLMeshTelemetry<TBuilder>(this TBuilder builder, string serviceName, MetricRegistry? registry = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddSingleton(registry ?? new MetricRegistry());
        builder.Services.AddSingleton<Readiness>();
        builder.Services.AddHostedService(_ => new TracingLifetime(serviceName));
        return builder;
    }

    public static TApp MapRLMeshEndpoints<TApp>(this TApp app) where TApp : IEndpointRouteBuilder
    {
        app.MapRLMeshMetrics();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (Readiness readiness) => readiness.IsReady
            ? Results.Text("ready\n")
            : Results.Text($"not ready: {readiness.Reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }

    /// <summary>/metrics alone, for hosts with their own health endpoints (the services' ServiceDefaults).</summary>
    public static TApp MapRLMeshMetrics<TApp>(this TApp app) where TApp : IEndpointRouteBuilder
    {
        var registry = app.ServiceProvider.GetRequiredService<MetricRegistry>();
        app.MapMetrics(settings =>
        {
            settings.Registry = registry.Collectors;
            // Text format 0.0.4 only: OpenMetrics would write bucket bounds as "1.0" where 0.0.4 writes "1", and
            // Prometheus keeps le as written, so one histogram would change series with the scraper's Accept header.
            settings.EnableOpenMetrics = false;
        }, "/metrics");
        return app;
    }

    /// <summary>
    /// Options for every RLMesh web host: the content root is the install directory and no configuration file is
    /// watched. The defaults watch the working directory recursively for appsettings changes: started from a checkout
    /// or /tmp that is thousands of inotify watches per process, and every line the roles of a launch log under
    /// ./rlmesh-logs woke the file-watch thread of all of them (measured: ~2,000 watches per process, ~4.5 % of a
    /// runner's CPU on that thread). RLMesh reads its configuration once (ServiceDefaults).
    /// </summary>
    public static WebApplicationOptions WebHostOptions() => new()
    {
        Args = ["--hostBuilder:reloadConfigOnChange=false"],
        ContentRootPath = AppContext.BaseDirectory,
    };

    /// <summary>
    /// A small Kestrel host with only the telemetry endpoints, for processes that are not web services (the
    /// embedded trainer's --metrics-port). <paramref name="url"/> like http://127.0.0.1:9464 (port 0: any free port).
    /// </summary>
    public static async Task<MetricsHost> StartMetricsHostAsync(MetricRegistry registry, string url, string serviceName, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(WebHostOptions());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddRLMeshTelemetry(serviceName, registry);
        builder.WebHost.UseUrls(url);
        var app = builder.Build();
        app.MapRLMeshEndpoints();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? url;
        return new MetricsHost(app, new Uri(address), app.Services.GetRequiredService<Readiness>());
    }

    private sealed class TracingLifetime(string serviceName) : IHostedService
    {
        private TracerProvider? _provider;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _provider = TracingSetup.StartFromEnvironment(serviceName);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _provider?.Dispose();
            return Task.CompletedTask;
        }
    }
}

/// <summary>A running telemetry-only host; dispose to stop it.</summary>
public sealed class MetricsHost(WebApplication app, Uri address, Readiness readiness) : IAsyncDisposable
{
    public Uri Address { get; } = address;
    public Readiness Readiness { get; } = readiness;

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
