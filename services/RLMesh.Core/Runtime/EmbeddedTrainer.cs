using System.Diagnostics;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Sync;

namespace RLMesh.Core.Runtime;

/// <summary>
/// The embedded runtime: N actor loops and one learner loop in this process, joined by a bounded
/// trajectory queue and a weight store (in-memory by default; any <see cref="ITrajectoryQueue"/> /
/// <see cref="IWeightStore"/> pair fits). It stops when the mean return over the last
/// <see cref="TrainingOptions.ReturnWindow"/> episodes reaches the target, at MaxFrames, or on cancellation.
/// Actors and learner run concurrently, so runs are reproducible in distribution, not bit for bit.
/// </summary>
public sealed class EmbeddedTrainer
{
    private readonly TrainingOptions _options;
    private readonly ITrajectoryQueue _queue;
    private readonly IWeightStore _weights;
    private readonly IBatchSource _batches;

    public EmbeddedTrainer(TrainingOptions options, ITrajectoryQueue? queue = null, IWeightStore? weights = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        _options = options;
        _queue = queue ?? new InMemoryTrajectoryQueue(options.QueueCapacity);
        _weights = weights ?? new InMemoryWeightStore();
        var spec = PolicyFactory.SpecFor(options);
        var network = ActorCriticNet.Create(spec, options.Seed);
        Learner = AlgorithmDefaults.CreateLearner(options, network, CreateOptimizer(network, options));
        _batches = AlgorithmDefaults.CreateBatchSource(options, _queue);
    }

    public ILearner Learner { get; }
    public TrainingOptions Options => _options;
    /// <summary>Metrics sink (RLMesh.Telemetry's RuntimeMetrics exposes them on /metrics).</summary>
    public IRuntimeMetrics Metrics { get; init; } = NullRuntimeMetrics.Instance;
    /// <summary>APS shared state; in-memory unless given.</summary>
    public IDivergenceBoard DivergenceBoard { get; init; } = new InMemoryDivergenceBoard();
    /// <summary>aps-adaptive controller input; in-process learner lag unless given (e.g. Prometheus' query API).</summary>
    public IStalenessSource? StalenessSource { get; init; }

    public static Optimizer CreateOptimizer(ActorCriticNet network, TrainingOptions options) => options.Optimizer switch
    {
        OptimizerKind.Adam => new Adam(network.Parameters, options.LearningRate),
        _ => new RmsProp(network.Parameters, options.LearningRate, options.RmsPropAlpha, options.RmsPropEpsilon, options.RmsPropMomentum),
    };

    public async Task<TrainingResult> RunAsync(Action<TrainingReport>? onReport, CancellationToken cancellationToken)
    {
        var o = _options;
        double target = o.TargetReturn ?? double.PositiveInfinity;
        await PublishAsync(CancellationToken.None).ConfigureAwait(false);

        using var stopActors = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var actors = new Task[o.Actors];
        var actorLoops = new Actor[o.Actors];
        var aps = new LearnerReporter(Metrics, DivergenceBoard, o.Sync);
        for (int a = 0; a < o.Actors; a++)
        {
            var env = new VectorEnv(o.EnvId, o.EnvsPerActor);
            var actor = actorLoops[a] = new Actor($"actor-{a}", env, Learner.Network.Clone(), o.UnrollLength,
                o.Seed * 1_000_003UL + (ulong)a * 7919UL)
            {
                SyncPolicy = o.Sync.CreatePolicy(),
                DivergenceBoard = DivergenceBoard,
                Metrics = Metrics,
            };
            actors[a] = Task.Factory.StartNew(
                () => o.Synchronous
                    ? SynchronousActing.RunAsync(actor, _queue, _weights, stopActors.Token)
                    : actor.RunAsync(_queue, _weights, stopActors.Token),
                stopActors.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
        var controller = aps.StartController(StalenessSource, stopActors.Token);

        var clock = Stopwatch.StartNew();
        var window = new ReturnWindow(o.ReturnWindow);
        var reports = new List<TrainingReport>();
        long frames = 0, updates = 0;
        int episodes = 0;
        long? framesToSolve = null;
        double? secondsToSolve = null;
        double lagSum = 0, nextReport = o.ReportIntervalSeconds;
        // Rows for metrics.csv and the learning curve also come every 1/200 of the frame budget, so a run that
        // solves in a second still has a curve; progress lines stay once per report interval.
        long curveStep = Math.Max(1, o.MaxFrames / 200), nextCurveFrames = curveStep;
        int lagCount = 0;
        LearnerUpdateStats last = default;

        try
        {
            while (frames < o.MaxFrames && framesToSolve is null)
            {
                Trajectory batch;
                bool fresh;
                IReadOnlyList<Trajectory> parts;
                using (Spans.Source.StartActivity(Spans.Batch))
                    (batch, fresh, parts) = await _batches.NextAsync(cancellationToken).ConfigureAwait(false);

                lagSum += aps.Trained(parts, Learner.Version);
                lagCount++;
                if (o.AnnealLearningRate)
                    Learner.Optimizer.LearningRate = o.LearningRate * (float)Math.Max(0.0, 1.0 - (double)frames / o.MaxFrames);

                long updateStarted = Stopwatch.GetTimestamp();
                using (Spans.Source.StartActivity(Spans.Update))
                    last = Learner.Update(batch);
                double updateSeconds = Stopwatch.GetElapsedTime(updateStarted).TotalSeconds;
                updates++;
                await PublishAsync(cancellationToken).ConfigureAwait(false);
                // A reused batch (IMPACT) trains again but brings no new frames or episodes.
                if (!fresh) continue;
                frames += batch.Frames;

                foreach (var episode in batch.Episodes)
                {
                    window.Add(episode.Return);
                    episodes++;
                }
                await aps.UpdatedAsync(Learner, parts, last, updateSeconds, window.Mean, _queue.Depth, cancellationToken).ConfigureAwait(false);
                if (window.IsFull && window.Mean >= target)
                {
                    framesToSolve = frames;
                    secondsToSolve = clock.Elapsed.TotalSeconds;
                }
                bool printDue = clock.Elapsed.TotalSeconds >= nextReport;
                if (printDue || frames >= nextCurveFrames)
                {
                    Report(print: printDue);
                    nextCurveFrames = frames + curveStep;
                    if (printDue) nextReport = clock.Elapsed.TotalSeconds + o.ReportIntervalSeconds;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The user stopped the run: report what was reached.
        }
        finally
        {
            await stopActors.CancelAsync().ConfigureAwait(false);
            try { await Task.WhenAll(actors).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            await controller.ConfigureAwait(false);
        }

        Report(print: true);
        return new TrainingResult(o, framesToSolve is not null, frames, clock.Elapsed.TotalSeconds,
            framesToSolve, secondsToSolve, window.Mean, updates, reports)
        {
            Sync = new SyncStats(actorLoops.Sum(a => a.WeightPulls), actorLoops.Sum(a => a.WeightPullBytes), aps.UnrollsTrained),
        };

        void Report(bool print)
        {
            double seconds = clock.Elapsed.TotalSeconds;
            var loss = last.Loss;
            var report = new TrainingReport(frames, seconds, seconds > 0 ? frames / seconds : 0, episodes, window.Mean,
                lagCount > 0 ? lagSum / lagCount : 0, updates, loss.TotalLoss, loss.PolicyLoss, loss.BaselineLoss,
                loss.Entropy, loss.Kl, Learner.Optimizer.LearningRate, _queue.Depth);
            lagSum = 0;
            lagCount = 0;
            reports.Add(report);
            if (print) onReport?.Invoke(report);
        }
    }

    private async ValueTask PublishAsync(CancellationToken cancellationToken)
    {
        using var span = Spans.Source.StartActivity(Spans.SnapshotPublish);
        long started = Stopwatch.GetTimestamp();
        await _weights.PublishAsync(new WeightSnapshot(Learner.Version, Learner.Network.Parameters.Values.ToArray()), cancellationToken).ConfigureAwait(false);
        Metrics.SnapshotPublished(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}
