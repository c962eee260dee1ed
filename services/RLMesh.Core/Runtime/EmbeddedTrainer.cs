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
/// Actors and learner run concurrently, so asynchronous runs are reproducible in distribution, not bit for bit;
/// synchronous (on-policy) runs reproduce exactly from their seed on a given machine.
/// </summary>
public sealed class EmbeddedTrainer
{
    private readonly TrainingOptions _options;
    private readonly ITrajectoryQueue _queue;
    private readonly IWeightStore _weights;
    private readonly IBatchSource _batches;

    /// <param name="networks">The backends networks are built with; native only unless the host registers more.</param>
    public EmbeddedTrainer(TrainingOptions options, ITrajectoryQueue? queue = null, IWeightStore? weights = null,
        NetworkFactory? networks = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        _options = options;
        _queue = queue ?? new InMemoryTrajectoryQueue(options.QueueCapacity);
        _weights = weights ?? new InMemoryWeightStore();
        var spec = PolicyFactory.SpecFor(options);
        var network = (networks ?? NetworkFactory.NativeOnly).Create(spec, options.Seed);
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

    public static Optimizer CreateOptimizer(IActorCriticNetwork network, TrainingOptions options) => options.Optimizer switch
    {
        OptimizerKind.Adam => new Adam(network.Parameters, options.LearningRate),
        _ => new RmsProp(network.Parameters, options.LearningRate, options.RmsPropAlpha, options.RmsPropEpsilon, options.RmsPropMomentum),
    };

    public async Task<TrainingResult> RunAsync(Action<TrainingReport>? onReport, CancellationToken cancellationToken)
    {
        var o = _options;
        await PublishAsync(CancellationToken.None).ConfigureAwait(false);

        using var stopActors = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var actors = new Task[o.Actors];
        var actorLoops = new Actor[o.Actors];
        var aps = new LearnerReporter(Metrics, DivergenceBoard, o.Sync);
        for (int a = 0; a < o.Actors; a++)
        {
            var env = new VectorEnv(o.EnvFactory(), o.EnvsPerActor);
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

        TrainingResult result;
        try
        {
            result = await LearnerLoop.RunAsync(o, Learner, _batches, () => _queue.Depth, PublishAsync, aps, onReport, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            await stopActors.CancelAsync().ConfigureAwait(false);
            try { await Task.WhenAll(actors).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            await controller.ConfigureAwait(false);
        }
        return result with
        {
            Sync = new SyncStats(actorLoops.Sum(a => a.WeightPulls), actorLoops.Sum(a => a.WeightPullBytes), aps.UnrollsTrained),
        };
    }

    private async ValueTask PublishAsync(CancellationToken cancellationToken)
    {
        using var span = Spans.Source.StartActivity(Spans.SnapshotPublish);
        long started = Stopwatch.GetTimestamp();
        await _weights.PublishAsync(WeightSnapshot.ActingParameters(Learner), cancellationToken).ConfigureAwait(false);
        Metrics.SnapshotPublished(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}
