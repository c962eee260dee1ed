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
    /// variables (<c>__</c> separates sections: <c>RLMESH_RUNNER__ENVS=32</c>), the config file (JSON or YAML), then
    /// flags. Later sources win, so flags &gt; file &gt; environment &gt; defaults.
    /// </summary>
    public static void AddRLMeshConfiguration(this IConfigurationBuilder configuration, string? configFile,
        IReadOnlyDictionary<string, string?> flags)
    {
        configuration.Sources.Clear();
        configuration.AddEnvironmentVariables(EnvironmentPrefix);
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

    /// <summary>A web application builder with RLMesh's configuration, logging and defaults.</summary>
    public static WebApplicationBuilder CreateBuilder(string? configFile, IReadOnlyDictionary<string, string?> flags)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
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

    /// <summary>/healthz (alive), /readyz (connections up), /stats (every service's counters as JSON).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
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
