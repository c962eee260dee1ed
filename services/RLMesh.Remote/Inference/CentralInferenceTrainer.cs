using System.Diagnostics;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
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

    public CentralInferenceTrainer(TrainingOptions options, CentralInferenceOptions central)
    {
        var errors = Validate(options).ToList();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        _options = options;
        _central = central;
        _queue = new InMemoryTrajectoryQueue(options.QueueCapacity);
        var network = ActorCriticNet.Create(PolicyFactory.SpecFor(options), options.Seed);
        Learner = AlgorithmDefaults.CreateLearner(options, network, EmbeddedTrainer.CreateOptimizer(network, options));
        _batches = AlgorithmDefaults.CreateBatchSource(options, _queue);
    }

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
    }

    public async Task<TrainingResult> RunAsync(Action<TrainingReport>? onReport, CancellationToken cancellationToken)
    {
        var o = _options;
        double target = o.TargetReturn ?? double.PositiveInfinity;
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

        var clock = Stopwatch.StartNew();
        var window = new ReturnWindow(o.ReturnWindow);
        var reports = new List<TrainingReport>();
        long frames = 0, updates = 0;
        int episodes = 0;
        long? framesToSolve = null;
        double? secondsToSolve = null;
        double lagSum = 0, nextReport = o.ReportIntervalSeconds;
        int lagCount = 0;
        LearnerUpdateStats last = default;
        try
        {
            while (frames < o.MaxFrames && framesToSolve is null)
            {
                var (batch, fresh, parts) = await _batches.NextAsync(cancellationToken).ConfigureAwait(false);
                foreach (var part in parts)
                {
                    lagSum += Learner.Version - part.PolicyVersion;
                    lagCount++;
                }
                if (o.AnnealLearningRate)
                    Learner.Optimizer.LearningRate = o.LearningRate * (float)Math.Max(0.0, 1.0 - (double)frames / o.MaxFrames);
                last = Learner.Update(batch);
                updates++;
                await PublishAsync(cancellationToken).ConfigureAwait(false);
                if (!fresh) continue;
                frames += batch.Frames;
                foreach (var episode in batch.Episodes)
                {
                    window.Add(episode.Return);
                    episodes++;
                }
                if (window.IsFull && window.Mean >= target)
                {
                    framesToSolve = frames;
                    secondsToSolve = clock.Elapsed.TotalSeconds;
                }
                if (clock.Elapsed.TotalSeconds >= nextReport)
                {
                    Report();
                    nextReport = clock.Elapsed.TotalSeconds + o.ReportIntervalSeconds;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The user stopped the run: report what was reached.
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
        Report();
        return new TrainingResult(o, framesToSolve is not null, frames, clock.Elapsed.TotalSeconds,
            framesToSolve, secondsToSolve, window.Mean, updates, reports);

        void Report()
        {
            double seconds = clock.Elapsed.TotalSeconds;
            var loss = last.Loss;
            var report = new TrainingReport(frames, seconds, seconds > 0 ? frames / seconds : 0, episodes, window.Mean,
                lagCount > 0 ? lagSum / lagCount : 0, updates, loss.TotalLoss, loss.PolicyLoss, loss.BaselineLoss,
                loss.Entropy, loss.Kl, Learner.Optimizer.LearningRate, _queue.Depth);
            lagSum = 0;
            lagCount = 0;
            reports.Add(report);
            onReport?.Invoke(report);
        }
    }

    private ValueTask PublishAsync(CancellationToken cancellationToken) =>
        _weights.PublishAsync(new WeightSnapshot(Learner.Version, Learner.Network.Parameters.Values.ToArray()), cancellationToken);
}
