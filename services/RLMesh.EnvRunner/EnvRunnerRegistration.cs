using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Hosting;
using RLMesh.Telemetry;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.EnvRunner;

public static class EnvRunnerRegistration
{
    /// <summary>
    /// Adds one env-runner to the host (call again for more runners in one process; give each its own id).
    /// Options come from the <c>Runner</c> section; <paramref name="id"/> overrides <c>Runner:Id</c>. In mode central-inference
    /// the runner holds no model: it drives its envs against the learner's inference server (<see cref="CentralInferenceRunnerService"/>).
    /// </summary>
    public static IHostApplicationBuilder AddEnvRunner(this IHostApplicationBuilder builder, string? id = null)
    {
        var options = builder.Configuration.GetSection(EnvRunnerOptions.Section).Get<EnvRunnerOptions>() ?? new EnvRunnerOptions();
        if (id is not null)
            options.Id = id;
        if (builder.Configuration.Get<ClusterOptions>() is { CentralInference: true })
        {
            builder.Services.AddSingleton<IHostedService>(sp => new CentralInferenceRunnerService(
                sp.GetClusterOptions(), options, sp.GetRequiredService<ServiceHealth>(), sp.GetRequiredService<ILogger<CentralInferenceRunnerService>>()));
            return builder;
        }
        var stats = new EnvRunnerStats(options.EffectiveId);
        builder.Services.AddSingleton<IServiceStats>(stats);
        builder.Services.AddSingleton<IHostedService>(sp => new EnvRunnerService(
            sp.GetClusterOptions(), options, stats, sp.GetRequiredService<IRuntimeMetrics>(),
            sp.GetRequiredService<MetricRegistry>().Counter(MetricCatalog.SnapshotsRejected).WithLabels(options.EffectiveId),
            sp.GetRequiredService<ServiceHealth>(), sp.GetRequiredService<ILogger<EnvRunnerService>>(),
            sp.GetService<NetworkFactory>() ?? NetworkFactory.NativeOnly));
        return builder;
    }
}
