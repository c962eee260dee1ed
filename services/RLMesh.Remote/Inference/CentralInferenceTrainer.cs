using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Remote.Env;
using RLMesh.Remote.Hosting;

namespace RLMesh.Remote.Inference;

public sealed record CentralInferenceOptions
{
    /// <summary>Runners started in this process (over loopback WebSocket); 0 when runners are separate processes.</summary>
    public int InProcessRunners { get; init; }
    /// <summary>Kestrel URL the inference endpoint binds (port 0: any free port).</summary>
    public string Url { get; init; } = "http://127.0.0.1:0";
    public int MaxBatchSize { get; init; } = 256;
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(1);
}

/// <summary>
/// `rlmesh train --mode central-inference`: the learner and a SEED-style inference server in this process; runners
/// (in-process clients over loopback WebSocket, or `rlmesh remote-runner --mode central-inference` processes)
/// step the environments and hold no model. Unrolls built by the inference server feed the normal learner
/// (IMPALA by default; asynchronous learners only: PPO's synchronous mode needs actors that wait for versions).
/// Runners use <see cref="TrainingOptions.EnvsPerActor"/> sub-envs each.
/// </summary>
public sealed class CentralInferenceTrainer
{
    private readonly TrainingOptions _options;
    private readonly CentralInferenceOptions _central;
    private readonly InMemoryTrajectoryQueue _queue;
    private readonly InMemoryWeightStore _weights = new();
    private readonly IBatchSource _batches;

    /// <param name="networks">The backends networks are built with; native only unless the host registers more.</param>
    public CentralInferenceTrainer(TrainingOptions options, CentralInferenceOptions central, NetworkFactory? networks = null)
    {
        var errors = Validate(options).ToList();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        _options = options;
        _central = central;
        _queue = new InMemoryTrajectoryQueue(options.QueueCapacity);
        var network = (networks ?? NetworkFactory.NativeOnly).Create(PolicyFactory.SpecFor(options), options.Seed);
        Learner = AlgorithmDefaults.CreateLearner(options, network, EmbeddedTrainer.CreateOptimizer(network, options));
        _batches = AlgorithmDefaults.CreateBatchSource(options, _queue);
    }

    /// <summary>
    /// The fewest sub-envs per runner `train --mode central-inference` uses unless told: every step is a round trip to the
    /// inference server, so an algorithm's smaller embedded shape (IMPACT's 4) costs seconds here
    /// (docs/benchmarks.md#central-inference-min-envs).
    /// </summary>
    public const int MinDefaultEnvsPerRunner = 16;

    public ILearner Learner { get; }
    /// <summary>Set once the server listens: where runner processes connect.</summary>
    public Uri? InferenceUrl { get; private set; }
    public InferenceServer? Server { get; private set; }
    /// <summary>Called once the server listens, with the URL runners must dial.</summary>
    public Action<Uri>? OnListening { get; init; }

    public static IEnumerable<string> Validate(TrainingOptions options)
    {
        foreach (var e in options.Validate()) yield return e;
        if (options.Synchronous)
            yield return $"central inference runs asynchronous learners (impala, impact, vmpo); {options.Algorithm} needs synchronous actors";
        // Remote runners announce the registry's spaces for their env id; a narrowed observation would not match them.
        if (options.Observe is not null)
            yield return "--observe applies to embedded training only (not --mode central-inference)";
    }

    public async Task<TrainingResult> RunAsync(Action<TrainingReport>? onReport, CancellationToken cancellationToken)
    {
        var o = _options;
        await PublishAsync(cancellationToken).ConfigureAwait(false);
        var server = await RemoteServer.StartAsync(new RemoteServerOptions { Url = _central.Url, EnvId = o.EnvId }, cancellationToken).ConfigureAwait(false);
        await using var serverLifetime = server.ConfigureAwait(false);
        var inference = new InferenceServer(Learner.Network, _weights, _queue, new InferenceServerOptions
        {
            MaxBatchSize = _central.MaxBatchSize,
            MaxWait = _central.MaxWait,
            UnrollLength = o.UnrollLength,
            Seed = o.Seed,
        });
        await using var inferenceLifetime = inference.ConfigureAwait(false);
        server.Inference = inference;
        Server = inference;
        InferenceUrl = server.InferenceUrl;
        OnListening?.Invoke(server.InferenceUrl);

        using var stopRunners = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var runners = new Task[_central.InProcessRunners];
        for (int r = 0; r < runners.Length; r++)
        {
            var runner = new RemoteEnvRunner(new RemoteEnvRunnerOptions
            {
                Url = server.InferenceUrl,
                EnvId = o.EnvId,
                NumEnvs = o.EnvsPerActor,
                RunnerId = $"runner-{r}",
                Mode = RunnerMode.CentralInference,
                Seed = o.Seed * 1_000_003UL + (ulong)r * 7919UL,
            });
            runners[r] = Task.Run(() => runner.RunAsync(stopRunners.Token), stopRunners.Token);
        }

        try
        {
            // Runners hold no model here, so no weight sync: the reporter only records lag for the progress view.
            var reporter = new LearnerReporter(NullRuntimeMetrics.Instance, new InMemoryDivergenceBoard(), o.Sync);
            return await LearnerLoop.RunAsync(o, Learner, _batches, () => _queue.Depth, PublishAsync, reporter, onReport, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            await stopRunners.CancelAsync().ConfigureAwait(false);
            foreach (var task in runners)
            {
                try { await task.ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or RemoteProtocolException) { }
            }
        }
    }

    private ValueTask PublishAsync(CancellationToken cancellationToken) =>
        _weights.PublishAsync(WeightSnapshot.ActingParameters(Learner), cancellationToken);
}
