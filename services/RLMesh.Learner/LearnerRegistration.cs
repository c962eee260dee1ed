using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Hosting;
using RLMesh.Telemetry;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.Learner;

public static class LearnerRegistration
{
    /// <summary>Adds the learner (options from the <c>Learner</c> section). One learner per run.</summary>
    public static IHostApplicationBuilder AddLearner(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(LearnerOptions.Section).Get<LearnerOptions>() ?? new LearnerOptions();
        var stats = new LearnerStats();
        builder.Services.AddSingleton(stats);
        builder.Services.AddSingleton<IServiceStats>(stats);
        builder.Services.AddSingleton<IHostedService>(sp => new LearnerService(
            sp.GetClusterOptions(), options, stats, sp.GetRequiredService<IRuntimeMetrics>(),
            sp.GetRequiredService<MetricRegistry>().Gauge(MetricCatalog.CheckpointAge).Value,
            sp.GetRequiredService<MetricRegistry>().Counter(MetricCatalog.LearnerBatchesDiscarded).WithLabels("stale"), sp.GetRequiredService<ServiceHealth>(),
            sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<LearnerService>>(),
            sp.GetService<NetworkFactory>() ?? NetworkFactory.NativeOnly));
        return builder;
    }
}
