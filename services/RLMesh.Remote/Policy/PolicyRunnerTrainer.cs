using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Remote.Hosting;

namespace RLMesh.Remote.Policy;

/// <summary>
/// Learner + policy-runner endpoint: runners (<see cref="PolicyRunner"/>, in process or not) act with local policy
/// copies and upload unrolls; the learner measures each runner's divergence KL(behaviour || current) from the loss's
/// per-column KL (Core's <see cref="LearnerReporter"/>) and publishes it on the board, so APS runners pull only
/// when their copy has drifted more than tau. Asynchronous learners only (IMPALA by default).
/// </summary>
public sealed class PolicyRunnerTrainer
{
    private readonly TrainingOptions _options;
    private readonly InMemoryTrajectoryQueue _queue;
    private readonly InMemoryWeightStore _weights = new();
    private readonly InMemoryDivergenceBoard _board = new();
    private readonly IBatchSource _batches;
    private readonly LearnerReporter _reporter;

    /// <param name="networks">The backends networks are built with; native only unless the host registers more.</param>
    public PolicyRunnerTrainer(TrainingOptions options, NetworkFactory? networks = null)
    {
        var errors = options.Validate().ToList();
        if (options.Synchronous) errors.Add($"policy runners run asynchronous learners; {options.Algorithm} needs synchronous actors");
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        _options = options;
        _queue = new InMemoryTrajectoryQueue(options.QueueCapacity);
        var network = (networks ?? NetworkFactory.NativeOnly).Create(PolicyFactory.SpecFor(options), options.Seed);
        Learner = AlgorithmDefaults.CreateLearner(options, network, EmbeddedTrainer.CreateOptimizer(network, options));
        _batches = AlgorithmDefaults.CreateBatchSource(options, _queue);
        _reporter = new LearnerReporter(NullRuntimeMetrics.Instance, _board, options.Sync);
        Host = new PolicyRunnerHost(_queue, _weights, _board);
    }

    public ILearner Learner { get; }
    public PolicyRunnerHost Host { get; }
    /// <summary>Called once the server listens, with the URL policy runners dial.</summary>
    public Action<Uri>? OnListening { get; init; }
    public string Url { get; init; } = "http://127.0.0.1:0";

    public async Task<TrainingResult> RunAsync(Action<TrainingReport>? onReport, CancellationToken cancellationToken)
    {
        await PublishAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Sync.Mode == SyncMode.ApsAdaptive)
            await _board.PublishThresholdAsync(_options.Sync.Tau, cancellationToken).ConfigureAwait(false);
        var server = await RemoteServer.StartAsync(new RemoteServerOptions { Url = Url, EnvId = _options.EnvId }, cancellationToken).ConfigureAwait(false);
        await using var lifetime = server.ConfigureAwait(false);
        server.Policy = Host;
        OnListening?.Invoke(server.PolicyUrl);
        var result = await LearnerLoop.RunAsync(_options, Learner, _batches, () => _queue.Depth, PublishAsync, _reporter, onReport, cancellationToken)
            .ConfigureAwait(false);
        return result with { Sync = new SyncStats(Host.WeightPulls, Host.WeightPullBytes, Host.UnrollsReceived) };
    }

    private ValueTask PublishAsync(CancellationToken cancellationToken) =>
        _weights.PublishAsync(WeightSnapshot.ActingParameters(Learner), cancellationToken);
}
