using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Hosting;

namespace RLMesh.Replay;

public static class ReplayRegistration
{
    /// <summary>
    /// Adds the replay service (options from the <c>Replay</c> section; FIFO batches, or one-version batches for an
    /// on-policy algorithm, unless an IBatchBuilder is registered first).
    /// </summary>
    public static IHostApplicationBuilder AddReplay(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(ReplayOptions.Section).Get<ReplayOptions>() ?? new ReplayOptions();
        if (options.BatchUnrolls < 1)
            throw new ArgumentException("Replay:BatchUnrolls must be at least 1.");
        // On-policy algorithms (ppo) need batches of one policy version; the others take unrolls first in, first out.
        bool onPolicy = builder.Configuration.Get<ClusterOptions>() is { Synchronous: true };
        builder.Services.TryAddSingleton<IBatchBuilder>(_ => onPolicy
            ? new OnPolicyBatchBuilder(options.BatchUnrolls)
            : new FifoBatchBuilder(options.BatchUnrolls));
        builder.Services.AddSingleton(sp => new ReplayStats(sp.GetRequiredService<RLMesh.Telemetry.Metrics.MetricRegistry>()));
        builder.Services.AddSingleton<IServiceStats>(sp => sp.GetRequiredService<ReplayStats>());
        builder.Services.AddSingleton<IHostedService>(sp => new ReplayService(
            sp.GetClusterOptions(), options, sp.GetRequiredService<IBatchBuilder>(), sp.GetRequiredService<ReplayStats>(),
            sp.GetRequiredService<ServiceHealth>(), sp.GetRequiredService<ILogger<ReplayService>>()));
        return builder;
    }
}
