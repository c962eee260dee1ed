using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RLMesh.Core.Runtime;
using RLMesh.Telemetry.Hosting;
using RLMesh.Telemetry.Metrics;
using RLMesh.Telemetry.Runtime;

namespace RLMesh.Hosting;

/// <summary>
/// What every RLMesh service process gets from one call: configuration with the documented precedence, console
/// logging, <see cref="ClusterOptions"/>, health state, and Kestrel serving /healthz, /readyz and /stats.
/// </summary>
public static class ServiceDefaults
{
    public const string EnvironmentPrefix = "RLMESH_";

    /// <summary>
    /// Builds the configuration, lowest precedence first: defaults (in the options classes), <c>RLMESH_*</c> environment
    /// variables (see <see cref="EnvironmentKey"/>), the config file (JSON or YAML), then flags. Later sources win, so
    /// flags &gt; file &gt; environment &gt; defaults.
    /// </summary>
    public static void AddRLMeshConfiguration(this IConfigurationBuilder configuration, string? configFile,
        IReadOnlyDictionary<string, string?> flags)
    {
        configuration.Sources.Clear();
        var environment = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (EnvironmentKey((string)variable.Key) is { } key)
                environment[key] = (string?)variable.Value;
        }
        configuration.AddInMemoryCollection(environment);
        if (!string.IsNullOrEmpty(configFile))
        {
            if (!File.Exists(configFile))
                throw new FileNotFoundException($"config file '{configFile}' does not exist", configFile);
            var full = Path.GetFullPath(configFile);
            if (full.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || full.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                configuration.AddInMemoryCollection(YamlConfiguration.Flatten(File.ReadAllText(full)));
            else
                configuration.AddJsonFile(full, optional: false, reloadOnChange: false);
        }
        configuration.AddInMemoryCollection(flags);
    }

    /// <summary>
    /// The configuration key an environment variable sets, or null when it is not an <c>RLMESH_*</c> variable.
    /// <c>__</c> separates sections and a single <c>_</c> separates words inside a key (keys are case-insensitive), so
    /// the chart's readable names are the keys: <c>RLMESH_HTTP_PORT</c> is <c>HttpPort</c>, <c>RLMESH_APS_TAU</c> is
    /// <c>ApsTau</c>, <c>RLMESH_RUNNER__ENVS</c> is <c>Runner:Envs</c>, <c>RLMESH_LEARNER__CHECKPOINT_DIR</c> is
    /// <c>Learner:CheckpointDir</c>.
    /// </summary>
    public static string? EnvironmentKey(string variable)
    {
        if (!variable.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) || variable.Length == EnvironmentPrefix.Length)
            return null;
        var sections = variable[EnvironmentPrefix.Length..].Split("__");
        return string.Join(':', sections.Select(section => section.Replace("_", "", StringComparison.Ordinal)));
    }

    /// <summary>A web application builder with RLMesh's configuration, logging and defaults.</summary>
    public static WebApplicationBuilder CreateBuilder(string? configFile, IReadOnlyDictionary<string, string?> flags)
    {
        var builder = WebApplication.CreateSlimBuilder(TelemetryHosting.WebHostOptions());
        builder.Configuration.AddRLMeshConfiguration(configFile, flags);
        builder.AddServiceDefaults();
        return builder;
    }

    public static IHostApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));

        builder.Services.Configure<ClusterOptions>(builder.Configuration);
        // Telemetry through the one registration path: the catalog registry (served on /metrics), OTLP tracing from
        // OTEL_* (the chart sets OTEL_SERVICE_NAME per role), and the runtime's reports as catalog metrics.
        builder.AddRLMeshTelemetry("rlmesh");
        // Only the learner reports a queue depth through it: batches it holds, prefetched from the batch queue.
        builder.Services.AddSingleton(sp => new RuntimeMetrics(sp.GetRequiredService<MetricRegistry>(), queueName: "batches"));
        builder.Services.AddSingleton<IRuntimeMetrics>(sp => sp.GetRequiredService<RuntimeMetrics>());
        builder.Services.AddSingleton<ServiceHealth>();
        builder.Services.AddSingleton<ServiceExit>();
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(15);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        var cluster = builder.Configuration.Get<ClusterOptions>() ?? new ClusterOptions();
        builder.WebHost.ConfigureKestrel(k =>
        {
            if (cluster.HttpPort > 0)
                k.ListenAnyIP(cluster.HttpPort);
        });
        if (cluster.HttpPort == 0)
            builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:0");
        return builder;
    }

    /// <summary>
    /// /metrics (the catalog metrics, Prometheus text), /healthz (alive), /readyz (connections up), /stats (every
    /// service's counters and loop timings as JSON: kept for the fault tests and for figures outside the catalog).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapRLMeshMetrics();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (ServiceHealth health) =>
        {
            var problems = health.Problems();
            return problems.Count == 0
                ? Results.Text("ready\n")
                : Results.Text(string.Join('\n', problems.Select(p => $"{p.Key}: {p.Value}")) + "\n", statusCode: 503);
        });
        app.MapGet("/stats", (IEnumerable<IServiceStats> stats) =>
            Results.Json(stats.ToDictionary(s => s.Component, s => s.Snapshot()), JsonDefaults.Options));
        return app;
    }

    /// <summary>Validated cluster options (throws <see cref="OptionsValidationException"/> naming every problem).</summary>
    public static ClusterOptions GetClusterOptions(this IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new OptionsValidationException(nameof(ClusterOptions), typeof(ClusterOptions), errors);
        return options;
    }

    /// <summary>
    /// Retries <paramref name="connect"/> with capped exponential backoff until it succeeds or the token is cancelled:
    /// services start in any order and outlive broker restarts, so "not reachable yet" is a state, not a crash.
    /// </summary>
    public static async Task<T> ConnectWithRetryAsync<T>(Func<CancellationToken, Task<T>> connect, ILogger logger, string what,
        ServiceHealth health, string component, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await connect(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                health.NotReady(component, $"{what} unreachable: {e.Message}");
                logger.LogWarning("Connecting to {What} failed (attempt {Attempt}), retrying in {Delay} ms: {Reason}",
                    what, attempt, delay.TotalMilliseconds, e.Message);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
            }
        }
    }
}

public static class JsonDefaults
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
