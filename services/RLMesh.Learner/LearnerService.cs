using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Hosting;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Redis;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.Learner;

/// <summary>
/// The learner: consumes batches, applies the configured algorithm's updates (<see cref="AlgorithmDefaults.CreateLearner"/>:
/// IMPALA, IMPACT with its circular buffer on this side, or V-MPO), measures per-runner divergence for APS and publishes it
/// on the Redis APS board (<see cref="LearnerReporter"/>, shared with the embedded trainer), reports catalog metrics, publishes every new version
/// through the Redis weight store, checkpoints every <see cref="LearnerOptions.CheckpointSeconds"/>, and reports the
/// run's status (version, frames, mean return, state) to Redis. It decides when the run is finished (the 100-episode
/// mean return reaches the target, or MaxFrames) and then stops its process with exit code 0.
/// <para>
/// Versions are never reused: on start it resumes from its checkpoint (weights, optimizer state, frames) and continues
/// at max(checkpoint version, store's latest) + 1, publishing the restored weights first so runners follow at once.
/// A batch is acknowledged only after its update (the next dequeue acks it), so a crash re-delivers it.
/// </para>
/// <para>
/// On-policy algorithms (ppo, <see cref="ClusterOptions.Synchronous"/>): a batch is trained only when every part carries
/// the learner's current version, so the measured policy lag is 0; others are discarded, counted and logged
/// (<see cref="DiscardStaleAsync"/>).
/// </para>
/// </summary>
public sealed partial class LearnerService(
    ClusterOptions cluster,
    LearnerOptions options,
    LearnerStats stats,
    IRuntimeMetrics metrics,
    Gauge checkpointAge,
    Counter staleDiscards,
    ServiceHealth health,
    IHostApplicationLifetime lifetime,
    ILogger<LearnerService> logger,
    NetworkFactory networks) : BackgroundService
{
    private const string Component = "learner";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.ToTrainingOptions(cluster);
        var errors = o.Validate();
        if (!(options.PublishIntervalSeconds >= 0))
            errors = [.. errors, $"Learner:PublishIntervalSeconds must be 0 or more, got {options.PublishIntervalSeconds}"];
        if (errors.Count > 0)
            throw new ArgumentException(string.Join("; ", errors));
        health.NotReady(Component, "connecting");
        var storeOptions = cluster.WeightStore(collectOnPublish: false, hints: false); // the parameter server owns retention; the learner publishes the hints
        await using var store = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisWeightStore.ConnectAsync(storeOptions, logger, ct), logger, "Redis", health, Component, stoppingToken);
        await using var state = await ServiceDefaults.ConnectWithRetryAsync(
            ct => RedisClusterState.ConnectAsync(storeOptions, logger, ct), logger, "Redis", health, Component, stoppingToken);
        // Mode central-inference: unrolls come from the inference server hosted here, not from replay over RabbitMQ.
        await using var batches = cluster.CentralInference ? null : await ServiceDefaults.ConnectWithRetryAsync(
            ct => RabbitMqTrajectoryQueue.ConnectAsync(cluster.BatchQueue(), logger, ct), logger, "RabbitMQ", health, Component, stoppingToken);
        ITrajectoryQueue queue = batches ?? (ITrajectoryQueue)new InMemoryTrajectoryQueue(o.QueueCapacity);

        var checkpoint = LearnerCheckpoints.TryLoad(options.CheckpointDir);
        var spec = PolicyFactory.SpecFor(o);
        IActorCriticNetwork network;
        if (checkpoint is not null)
        {
            if (checkpoint.EnvId != o.EnvId || checkpoint.Spec.ObservationSize != spec.ObservationSize
                || !checkpoint.Spec.Hidden.SequenceEqual(spec.Hidden))
                throw new InvalidOperationException(
                    $"The checkpoint in {options.CheckpointDir} is for {checkpoint.EnvId} with hidden {string.Join(',', checkpoint.Spec.Hidden)}, " +
                    $"this run is {o.EnvId} with hidden {cluster.Hidden}; use another Learner:CheckpointDir.");
            if (!NetworkDescription.Of(checkpoint.Spec).SameArchitecture(NetworkDescription.Of(spec))
                || !(checkpoint.Observe ?? []).SequenceEqual(o.Observe ?? []))
                throw new InvalidOperationException(
                    $"The checkpoint in {options.CheckpointDir} holds a {NetworkDescription.Of(checkpoint.Spec)} network, this run builds " +
                    $"{NetworkDescription.Of(spec)} (Backend, Net, Lstm and Observe must match); use another Learner:CheckpointDir.");
            network = checkpoint.CreateNetwork(networks);
        }
        else
        {
            network = networks.Create(spec, o.Seed);
        }
        var optimizer = EmbeddedTrainer.CreateOptimizer(network, o);
        if (checkpoint is not null && checkpoint.OptimizerKind == optimizer.GetType().Name)
            optimizer.ImportState(checkpoint.OptimizerState);
        long latest = await store.RefreshLatestVersionAsync(stoppingToken);
        long startVersion = Math.Max(checkpoint?.Version ?? -1, latest) + 1;
        var learner = AlgorithmDefaults.CreateLearner(o, network, optimizer, startVersion);
        // Replay already formed the batches (Replay:BatchUnrolls); IMPACT's circular buffer reuses them here, next to the
        // learner and its target network, so a reuse costs no broker traffic and acks stay "after the (first) update".
        var source = AlgorithmDefaults.CreateBatchSource(o with { BatchUnrolls = batches is null ? options.BatchUnrolls : 1 }, queue);
        await using var board = new BufferedDivergenceBoard(store.CreateDivergenceBoard(), logger);
        var reporter = new LearnerReporter(metrics, board, o.Sync);
        long frames = checkpoint?.Frames ?? 0;
        stats.Version = startVersion;
        stats.Frames = frames;
        stats.CheckpointVersion = checkpoint?.Version ?? -1;
        if (checkpoint is not null)
            Log.Resumed(logger, options.CheckpointDir, checkpoint.Version, checkpoint.Frames, latest, startVersion);
        else
            Log.Fresh(logger, o.EnvId, latest, startVersion);
        Log.Network(logger, NetworkDescription.Of(network.Spec).ToString(), network.CoreStateSize);
        await using var publisher = new SnapshotPublisher(store, stats, metrics, logger,
            o.Synchronous ? TimeSpan.Zero : TimeSpan.FromSeconds(options.PublishIntervalSeconds));
        var first = Snapshot(learner);
        long publishedActing = first.Version;
        publisher.Offer(first);
        await publisher.FlushAsync(stoppingToken);
        await using var inference = batches is null
            ? await LearnerInference.StartAsync(o, learner, first, options.InferenceUrl, queue, stoppingToken)
            : null;
        if (inference is not null)
            Log.Serving(logger, inference.Url);

        health.Ready(Component);
        stats.State = "running";
        double target = o.TargetReturn ?? double.PositiveInfinity;
        var window = new ReturnWindow(o.ReturnWindow);
        var clock = Stopwatch.StartNew();
        double nextReport = options.ReportSeconds, nextCheckpoint = options.CheckpointSeconds;
        long updatesAtCheckpoint = 0, framesAtReport = frames;
        double secondsAtReport = 0, lagSum = 0;
        long lagCount = 0;
        string finalState = "stopped";
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (frames >= o.MaxFrames) { finalState = "max-frames"; break; }
                if (window.IsFull && window.Mean >= target) { finalState = "solved"; break; }

                long waitStarted = Stopwatch.GetTimestamp();
                var (batch, fresh, parts) = await source.NextAsync(stoppingToken);
                stats.WaitSeconds += Stopwatch.GetElapsedTime(waitStarted).TotalSeconds;
                if (o.Synchronous && SynchronousActing.OffPolicySegments(parts, learner.Version) is { Count: > 0 } offPolicy)
                {
                    await DiscardStaleAsync(learner, parts, offPolicy, publisher, store, stoppingToken);
                    continue;
                }
                lagSum += reporter.Trained(parts, learner.Version);
                lagCount++;
                if (o.AnnealLearningRate)
                    optimizer.LearningRate = o.LearningRate * (float)Math.Max(0.0, 1.0 - (double)frames / o.MaxFrames);
                long started = Stopwatch.GetTimestamp();
                var update = learner.Update(batch);
                stats.LastUpdateSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (fresh)
                {
                    frames += batch.Frames;
                    foreach (var episode in batch.Episodes)
                    {
                        window.Add(episode.Return);
                        stats.Episodes++;
                    }
                }
                await reporter.UpdatedAsync(learner, parts, update, stats.LastUpdateSeconds, window.Mean, queue.Depth, stoppingToken);
                stats.Updates++;
                stats.Version = learner.Version;
                stats.Frames = frames;
                stats.MeanReturn = window.Mean;
                (stats.TotalLoss, stats.PolicyLoss, stats.BaselineLoss, stats.Entropy) =
                    (update.Loss.TotalLoss, update.Loss.PolicyLoss, update.Loss.BaselineLoss, update.Loss.Entropy);
                if (learner.ActingVersion != publishedActing)
                {
                    // Every update, unless the actors follow a slower copy (IMPACT's target): then once per copy.
                    var snapshot = Snapshot(learner);
                    publisher.Offer(snapshot);
                    inference?.Publish(snapshot);
                    publishedActing = snapshot.Version;
                }

                double now = clock.Elapsed.TotalSeconds;
                if (stats.LastCheckpoint is { } written)
                    checkpointAge.Set((DateTimeOffset.UtcNow - written).TotalSeconds);
                if (now >= nextCheckpoint || (options.CheckpointUpdates > 0 && stats.Updates - updatesAtCheckpoint >= options.CheckpointUpdates))
                {
                    WriteCheckpoint(o, learner, frames);
                    updatesAtCheckpoint = stats.Updates;
                    nextCheckpoint = now + options.CheckpointSeconds;
                }
                if (now >= nextReport)
                {
                    stats.MeanPolicyLag = lagCount > 0 ? lagSum / lagCount : 0;
                    double fps = (frames - framesAtReport) / Math.Max(1e-9, now - secondsAtReport);
                    (framesAtReport, secondsAtReport, lagSum, lagCount) = (frames, now, 0, 0);
                    await ReportAsync(state, "running", fps, stoppingToken);
                    nextReport = now + options.ReportSeconds;
                }
            }
            if (batches is not null)
                await batches.AcknowledgeAsync(CancellationToken.None);
            await publisher.FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        WriteCheckpoint(o, learner, frames);
        stats.State = finalState;
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await ReportAsync(state, finalState, 0, grace.Token);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ReportFailed(logger, e.Message);
            }
        }
        Log.Finished(logger, finalState, learner.Version, frames, window.Mean ?? double.NaN);
        if (finalState != "stopped" && options.ExitWhenDone)
            lifetime.StopApplication();
    }

    /// <summary>
    /// On-policy (ppo): a batch with a part that the current parameters did not produce (a redelivery after a learner
    /// restart, an unroll of a runner that acted before the last update) is not trained on; it is counted
    /// (<c>rlmesh_learner_batches_discarded_total{reason="stale"}</c>) and logged, and acknowledged with the next take.
    /// Liveness: the runners wait for a version newer than the one they acted with. A learner that (re)starts publishes
    /// its weights under a new version first, which wakes them; a discarded batch whose parts are all older than the
    /// learner means the runners never saw the learner's current version (its publish failed, Redis was away), so it is
    /// offered again here unless Redis already has it. A batch discarded for any other reason leaves its runners to
    /// their own patience (Runner:VersionWaitSeconds): they step again with the newest version and fill the next batch.
    /// </summary>
    private async Task DiscardStaleAsync(ILearner learner, IReadOnlyList<RLMesh.Core.Data.Trajectory> parts,
        IReadOnlyList<RLMesh.Core.Data.BatchSegment> offPolicy, SnapshotPublisher publisher, RedisWeightStore store, CancellationToken cancellationToken)
    {
        stats.BatchesDiscardedStale++;
        staleDiscards.Inc();
        int total = parts.Sum(p => p.SegmentsOrSelf().Count());
        var oldest = offPolicy.MinBy(s => s.PolicyVersion);
        Log.StaleBatchDiscarded(logger, learner.Version, offPolicy.Count, total, oldest.Source, oldest.PolicyVersion, stats.BatchesDiscardedStale);
        if (publisher.PublishedVersion >= learner.Version)
            return;
        try
        {
            if (await store.RefreshLatestVersionAsync(cancellationToken) >= learner.Version)
                return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ReportFailed(logger, e.Message);
            return; // Redis is away: nobody could load the weights now; the next discarded batch tries again.
        }
        Log.Republishing(logger, learner.Version);
        publisher.Offer(Snapshot(learner));
    }

    private static WeightSnapshot Snapshot(ILearner learner) => WeightSnapshot.ActingParameters(learner);

    private void WriteCheckpoint(TrainingOptions o, ILearner learner, long frames)
    {
        var checkpoint = new Checkpoint(o.EnvId, o.Algorithm, learner.Network.Spec, learner.Version, frames, o.Seed,
            learner.Optimizer.GetType().Name, learner.Network.Parameters.Values.ToArray(), learner.Optimizer.ExportState())
        {
            Observe = o.Observe,
        };
        LearnerCheckpoints.Write(options.CheckpointDir, checkpoint);
        stats.LastCheckpoint = DateTimeOffset.UtcNow;
        checkpointAge.Set(0);
        stats.CheckpointVersion = learner.Version;
        Log.Checkpointed(logger, learner.Version, frames, options.CheckpointDir);
    }

    private async Task ReportAsync(RedisClusterState state, string runState, double fps, CancellationToken cancellationToken)
    {
        var status = new LearnerStatus(stats.Version, stats.Frames, stats.Updates, stats.Episodes, stats.MeanReturn, fps,
            stats.MeanPolicyLag, runState, stats.CheckpointVersion, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        try
        {
            await state.WriteLearnerStatusAsync(status, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ReportFailed(logger, e.Message);
        }
        Log.Progress(logger, stats.Version, stats.Frames, fps, stats.Episodes, stats.MeanReturn ?? double.NaN, stats.MeanPolicyLag, stats.TotalLoss);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3301, Level = LogLevel.Information,
            Message = "Resumed from {Dir}: checkpoint v{CheckpointVersion} at {Frames} frames; store latest v{Latest}; continuing at v{Version}")]
        public static partial void Resumed(ILogger logger, string dir, long checkpointVersion, long frames, long latest, long version);

        [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Fresh learner for {Env}: store latest v{Latest}; starting at v{Version}")]
        public static partial void Fresh(ILogger logger, string env, long latest, long version);

        [LoggerMessage(EventId = 3311, Level = LogLevel.Information,
            Message = "Training a {Network} network; unrolls carry {CoreState} floats of recurrent state per column")]
        public static partial void Network(ILogger logger, string network, int coreState);

        [LoggerMessage(EventId = 3303, Level = LogLevel.Information,
            Message = "v{Version} frames {Frames} ({Fps:F0}/s) episodes {Episodes} mean return {MeanReturn:F1} lag {Lag:F2} loss {Loss:F3}")]
        public static partial void Progress(ILogger logger, long version, long frames, double fps, long episodes, double meanReturn, double lag, double loss);

        [LoggerMessage(EventId = 3304, Level = LogLevel.Debug, Message = "Checkpoint v{Version} ({Frames} frames) written to {Dir}")]
        public static partial void Checkpointed(ILogger logger, long version, long frames, string dir);

        [LoggerMessage(EventId = 3306, Level = LogLevel.Warning, Message = "Reporting learner status failed: {Reason}")]
        public static partial void ReportFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 3308, Level = LogLevel.Information, Message = "Central inference: runners dial {Url}")]
        public static partial void Serving(ILogger logger, Uri url);

        [LoggerMessage(EventId = 3309, Level = LogLevel.Warning,
            Message = "Discarded an off-policy batch at v{Version}: {OffPolicy} of {Parts} parts from other versions (oldest {Source} at v{PartVersion}); {Total} discarded so far")]
        public static partial void StaleBatchDiscarded(ILogger logger, long version, int offPolicy, int parts, string source, long partVersion, long total);

        [LoggerMessage(EventId = 3310, Level = LogLevel.Warning,
            Message = "Runners act with versions older than v{Version}, which Redis does not have: publishing it again")]
        public static partial void Republishing(ILogger logger, long version);

        [LoggerMessage(EventId = 3307, Level = LogLevel.Information,
            Message = "Learner finished ({State}) at v{Version}, {Frames} frames, mean return {MeanReturn:F1}")]
        public static partial void Finished(ILogger logger, string state, long version, long frames, double meanReturn);
    }
}
