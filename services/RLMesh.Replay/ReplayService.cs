using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Hosting;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Codec;
using RLMesh.Telemetry;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.Replay;

/// <summary>Settings of the replay service, bound from the <c>Replay</c> configuration section.</summary>
public sealed class ReplayOptions
{
    public const string Section = "Replay";
    /// <summary>B: unrolls concatenated into one learner batch.</summary>
    public int BatchUnrolls { get; set; } = 2;
}

/// <summary>The replay service's counters under their metric-catalog names (/stats), and the same as catalog metrics (/metrics).</summary>
public sealed class ReplayStats(MetricRegistry registry) : IServiceStats
{
    public readonly Counter Consumed = registry.Counter(MetricCatalog.MessagesConsumed).WithLabels("unrolls");
    public readonly Counter Published = registry.Counter(MetricCatalog.MessagesPublished).WithLabels("batches");
    public readonly Gauge UnrollDepth = registry.Gauge(MetricCatalog.QueueDepth).WithLabels("unrolls");
    private readonly MetricFamily<Counter> _deadLetters = registry.Counter(MetricCatalog.DeadLetters);

    /// <summary>Counts one dead-lettered message of <paramref name="queue"/> under its classified reason.</summary>
    public void DeadLettered(string queue, string reason)
    {
        Interlocked.Increment(ref DeadLetters);
        _deadLetters.WithLabels(queue, InvalidMessageException.Classify(reason)).Inc();
    }

    internal long UnrollsConsumed, BatchesPublished, UnrollsRefused, DeadLetters, UnrollsDroppedStale;
    internal int Pending;
    public string Component => "replay";

    public object Snapshot() => new Dictionary<string, object>
    {
        [MetricCatalog.MessagesConsumed.Name + "{queue=unrolls}"] = Interlocked.Read(ref UnrollsConsumed),
        [MetricCatalog.MessagesPublished.Name + "{queue=batches}"] = Interlocked.Read(ref BatchesPublished),
        [MetricCatalog.DeadLetters.Name + "{queue=unrolls}"] = Interlocked.Read(ref DeadLetters),
        ["unrolls_refused_shape"] = Interlocked.Read(ref UnrollsRefused),
        ["unrolls_dropped_stale"] = Interlocked.Read(ref UnrollsDroppedStale),
        ["pending_unrolls"] = Volatile.Read(ref Pending),
    };
}

/// <summary>
/// The replay service: consumes unrolls, hands them to <see cref="IBatchBuilder"/>, publishes the batches it yields to
/// the learner's batch queue (reject-publish: never dropped). A slow learner slows replay; the unroll queue then fills
/// and drops its oldest unrolls (drop-head), so runners never wait on the learner and the learner sees fresh data.
/// Acknowledgement: an unroll is acked when the next one is taken, so a crash loses at most the partial batch being
/// formed plus the batch awaiting its confirm (unrolls are droppable by design; batches, once confirmed, are not).
/// Invalid unrolls (undecodable, NaN/Inf, wrong shapes) are dead-lettered and counted by the queue.
/// </summary>
public sealed partial class ReplayService(
    ClusterOptions cluster,
    ReplayOptions options,
    IBatchBuilder builder,
    ReplayStats stats,
    ServiceHealth health,
    ILogger<ReplayService> logger) : BackgroundService
{
    private const string Component = "replay";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        health.NotReady(Component, "connecting");
        await using var unrolls = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RabbitMqTrajectoryQueue.ConnectAsync(cluster.UnrollQueue(prefetch: (ushort)Math.Clamp(options.BatchUnrolls * 2, 2, 512)), logger, ct),
            logger, "RabbitMQ", health, Component, stoppingToken);
        await using var batches = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RabbitMqTrajectoryQueue.ConnectAsync(cluster.BatchQueue(), logger, ct), logger, "RabbitMQ", health, Component, stoppingToken);
        unrolls.InvalidMessageReceived += (_, e) => stats.DeadLettered("unrolls", e.Reason);
        // A builder that can batch wire forms gets them: validated at the queue as always, but never decoded into
        // trajectories nor re-encoded, which was most of replay's work per unroll.
        var encoded = builder as IEncodedBatchBuilder;
        unrolls.ConsumeEncoded = encoded is not null;
        await unrolls.StartConsumingAsync(stoppingToken);
        health.Ready(Component);
        Log.Started(logger, cluster.Run, builder is OnPolicyBatchBuilder ? "on-policy (one version per batch)" : "FIFO", options.BatchUnrolls);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (encoded is not null)
                    await RelayEncodedAsync(unrolls, batches, encoded, stoppingToken);
                else
                    await RelayDecodedAsync(unrolls, batches, stoppingToken);
                stats.UnrollDepth.Set(unrolls.Depth);
                Volatile.Write(ref stats.Pending, builder.Pending);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        Log.Stopped(logger, Interlocked.Read(ref stats.UnrollsConsumed), Interlocked.Read(ref stats.BatchesPublished), unrolls.InvalidMessages);
    }

    private async Task RelayDecodedAsync(RabbitMqTrajectoryQueue unrolls, RabbitMqTrajectoryQueue batches, CancellationToken stoppingToken)
    {
        var unroll = await unrolls.DequeueAsync(stoppingToken);
        Consumed();
        if (!builder.Add(unroll))
            Refused(unroll.Source, unroll.Steps, unroll.ObservationSize, unroll.PolicyOutputSize);
        ReportStaleDrops();
        while (builder.TryTake(out var batch))
        {
            await batches.EnqueueAsync(batch, stoppingToken);
            PublishedOne();
        }
    }

    private async Task RelayEncodedAsync(RabbitMqTrajectoryQueue unrolls, RabbitMqTrajectoryQueue batches, IEncodedBatchBuilder encoded, CancellationToken stoppingToken)
    {
        var unroll = await unrolls.DequeueEncodedAsync(stoppingToken);
        Consumed();
        if (!encoded.Add(unroll))
            Refused(unroll.Source, unroll.Steps, unroll.ObservationSize, unroll.PolicyOutputSize);
        ReportStaleDrops();
        while (encoded.TryTake(out var batch))
        {
            await batches.EnqueueAsync(batch, stoppingToken);
            PublishedOne();
        }
    }

    /// <summary>On-policy batches: unrolls the builder dropped as older than a version it has seen are counted and logged.</summary>
    private void ReportStaleDrops()
    {
        if (builder is not OnPolicyBatchBuilder onPolicy || onPolicy.Dropped == Interlocked.Read(ref stats.UnrollsDroppedStale))
            return;
        long dropped = onPolicy.Dropped - Interlocked.Read(ref stats.UnrollsDroppedStale);
        Interlocked.Exchange(ref stats.UnrollsDroppedStale, onPolicy.Dropped);
        if (onPolicy.LastDropped is var (source, version, newest))
            Log.StaleDropped(logger, dropped, source, version, newest);
    }

    private void Consumed()
    {
        Interlocked.Increment(ref stats.UnrollsConsumed);
        stats.Consumed.Inc();
    }

    private void Refused(string source, int steps, int obs, int policy)
    {
        Interlocked.Increment(ref stats.UnrollsRefused);
        Log.ShapeRefused(logger, source, steps, obs, policy);
    }

    private void PublishedOne()
    {
        Interlocked.Increment(ref stats.BatchesPublished);
        stats.Published.Inc();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Replay for run {Run}: {Kind} batches of {Unrolls} unrolls")]
        public static partial void Started(ILogger logger, string run, string kind, int unrolls);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Error,
            Message = "Refused an unroll from {Source} whose shape (T={Steps}, obs {Obs}, policy {Policy}) does not match the batch being formed")]
        public static partial void ShapeRefused(ILogger logger, string source, int steps, int obs, int policy);

        [LoggerMessage(EventId = 3204, Level = LogLevel.Warning,
            Message = "Dropped {Count} unroll(s) older than v{Newest} for on-policy batches (last: {Source} at v{Version})")]
        public static partial void StaleDropped(ILogger logger, long count, string source, long version, long newest);

        [LoggerMessage(EventId = 3203, Level = LogLevel.Information,
            Message = "Replay stopped: {Unrolls} unrolls consumed, {Batches} batches published, {Invalid} dead-lettered")]
        public static partial void Stopped(ILogger logger, long unrolls, long batches, long invalid);
    }
}
