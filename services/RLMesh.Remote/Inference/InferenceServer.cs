using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Google.Protobuf;
using RLMesh.Core;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using EpisodeStats = RLMesh.Core.Data.EpisodeStats;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Inference;

public sealed record InferenceServerOptions
{
    /// <summary>Most observations (sub-envs) evaluated in one forward pass.</summary>
    public int MaxBatchSize { get; init; } = 256;
    /// <summary>Longest a request waits for others to join its batch (when not every connected runner is waiting yet).</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>T of the unrolls built for the learner.</summary>
    public int UnrollLength { get; init; } = 20;
    public ulong Seed { get; init; } = 1;
}

/// <summary>What the inference server measured: batch sizes (sub-envs per forward pass) and per-request latency.</summary>
public sealed record InferenceStats(long Frames, long Batches, IReadOnlyDictionary<int, long> BatchSizes, double LatencyP50Microseconds, double LatencyP99Microseconds);

/// <summary>
/// SEED RL's central inference: runners hold no model; each sends the observations of all its sub-envs per
/// vector step, this server batches requests from many runners (up to <see cref="InferenceServerOptions.MaxBatchSize"/>
/// sub-envs, waiting at most <see cref="InferenceServerOptions.MaxWait"/>, and not at all once every connected runner
/// is in the batch), evaluates the policy once, samples actions and answers each runner. It also builds the
/// runners' unrolls (observation, action, behaviour policy, reward, flags) for the learner's queue, and takes new
/// weights from the weight store between batches.
/// A recurrent policy's core state lives here, per runner session and sub-env slot: it is zeroed when that slot's
/// episode starts (an autoreset step), gathered into each batch and written back after it, and every unroll carries
/// the state its slots held at its first step, so the learner replays from it.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    private readonly IActorCriticNetwork _net;
    private readonly IInferenceSession _session;
    private readonly IWeightStore _weights;
    private readonly ITrajectoryQueue _queue;
    private readonly InferenceServerOptions _options;
    // Pending requests (guarded by _gate). The request that completes a batch (every connected runner is in, or
    // MaxBatchSize is reached) evaluates it on its own thread; the timer thread evaluates partial batches after MaxWait.
    private readonly object _gate = new();
    private List<Request> _pending = new(64);
    private List<Request>? _spare = new(64);
    private int _pendingEnvs;
    private bool _stopping;
    private readonly object _evaluateGate = new();
    private readonly Thread _batcher;
    private readonly bool _discrete;
    private readonly object _statsGate = new();
    private readonly Dictionary<int, long> _batchSizes = [];
    private readonly List<double> _latencies = new(1 << 16);
    private float[] _obs = [], _outputs = [], _values = [], _coreStates = [];
    private Rng _rng;
    private long _version = -1;
    private int _connections;
    private long _frames, _batches;

    public InferenceServer(IActorCriticNetwork policy, IWeightStore weights, ITrajectoryQueue queue, InferenceServerOptions options)
    {
        _net = policy.Clone();
        _session = _net.CreateInferenceSession();
        _weights = weights;
        _queue = queue;
        _options = options;
        _discrete = _net.Spec.Head is CategoricalHead;
        _rng = new Rng(options.Seed * 2_654_435_761UL + 17);
        _batcher = new Thread(BatchLoop) { IsBackground = true, Name = "rlmesh-inference-batcher" };
        _batcher.Start();
    }

    public int Connections => Volatile.Read(ref _connections);
    public long Frames => Interlocked.Read(ref _frames);
    public long PolicyVersion => Interlocked.Read(ref _version);

    public InferenceStats Stats()
    {
        lock (_statsGate)
        {
            var sorted = _latencies.ToArray();
            Array.Sort(sorted);
            double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
            return new InferenceStats(Frames, _batches, new SortedDictionary<int, long>(_batchSizes), Percentile(0.5), Percentile(0.99));
        }
    }

    /// <summary>Forgets the measurements so far (benchmarks skip their warm-up).</summary>
    public void ResetStats()
    {
        lock (_statsGate)
        {
            _batchSizes.Clear();
            _latencies.Clear();
            _batches = 0;
        }
    }

    /// <summary>One runner's session: its observations in, actions out, its unrolls to the learner queue.</summary>
    internal async Task ServeAsync(RemoteServer server, FrameSocket socket, Hello hello, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connections);
        try
        {
            await ServeCoreAsync(server, socket, hello, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    private async Task ServeCoreAsync(RemoteServer server, FrameSocket socket, Hello hello, CancellationToken cancellationToken)
    {
        int n = hello.NumEnvs, o = _net.ObservationSize, p = _net.PolicyOutputSize;
        int a = _discrete ? 1 : ((GaussianHead)_net.Spec.Head).ActionSize;
        int T = _options.UnrollLength, s = _net.CoreStateSize;
        string runner = hello.RunnerId;
        // [n, s]: each slot's recurrent state before its next evaluation (a session starts every slot's episode afresh).
        var coreState = new float[n * s];
        var trajectory = NewTrajectory();
        int t = 0;
        ulong expected = 0;
        var request = new Request(n) { CoreState = coreState };
        var reply = new RemoteFrame { Actions = new ActionBatch() };
        var actionBytes = new byte[n * a * sizeof(float)];
        reply.Actions.Actions = UnsafeByteOperations.UnsafeWrap(actionBytes);

        Trajectory NewTrajectory() => new(T, n, o, a, p, s) { Source = runner };

        while (true)
        {
            RemoteFrame? frame;
            try
            {
                frame = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidMessageException e)
            {
                await server.RejectAsync(socket, "malformed", RemoteErrorCode.MalformedFrame, e.Reason, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (frame is null || frame.BodyCase == RemoteFrame.BodyOneofCase.Goodbye) return;
            if (frame.BodyCase != RemoteFrame.BodyOneofCase.Observations)
            {
                await server.RejectAsync(socket, "unexpected", RemoteErrorCode.UnexpectedFrame, $"an inference runner sends ObservationBatch, not {frame.BodyCase}", cancellationToken).ConfigureAwait(false);
                continue;
            }
            long received = Stopwatch.GetTimestamp();
            var batch = frame.Observations;
            try
            {
                if (batch.StepId != expected) throw new InvalidMessageException($"step_id {batch.StepId}, expected {expected}");
                if (expected > 0)
                {
                    int row = (t - 1) * n;
                    RemoteProtocol.ReadFloats(batch.Rewards, trajectory.Rewards.AsSpan(row, n), "rewards");
                    RemoteProtocol.CheckFinite(trajectory.Rewards.AsSpan(row, n), "rewards");
                    RemoteProtocol.ReadFlags(batch.Terminated, trajectory.Terminated.AsSpan(row, n), "terminated");
                    RemoteProtocol.ReadFlags(batch.Truncated, trajectory.Truncated.AsSpan(row, n), "truncated");
                    RemoteProtocol.ReadFlags(batch.Autoreset, trajectory.Valid.AsSpan(row, n), "autoreset");
                    for (int i = row; i < row + n; i++) trajectory.Valid[i] = !trajectory.Valid[i];
                    // An autoreset step's observation starts that slot's next episode: its recurrent state starts from zero.
                    for (int i = 0; i < n && s > 0; i++)
                        if (!trajectory.Valid[row + i]) coreState.AsSpan(i * s, s).Clear();
                    foreach (var e in batch.Episodes)
                    {
                        if ((uint)e.EnvIndex >= (uint)n) throw new InvalidMessageException($"episode env_index {e.EnvIndex} outside {n} sub-envs");
                        trajectory.Episodes.Add(new EpisodeStats(e.EnvIndex, e.Return, e.Length));
                    }
                }
                var obsRow = trajectory.Observations.AsSpan(t * n * o, n * o);
                RemoteProtocol.ReadFloats(batch.Observations, obsRow, "observations");
                RemoteProtocol.CheckFinite(obsRow, "observations");
            }
            catch (InvalidMessageException e)
            {
                // A runner out of step cannot be trusted to continue its unroll: refuse, count and end its session.
                await server.RejectAsync(socket, "malformed", RemoteErrorCode.MalformedFrame, e.Reason, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (t == T)
            {
                // obs row T is the bootstrap row of this unroll and row 0 of the next.
                await _queue.EnqueueAsync(trajectory, cancellationToken).ConfigureAwait(false);
                var next = NewTrajectory();
                trajectory.Observations.AsSpan(T * n * o, n * o).CopyTo(next.Observations);
                coreState.CopyTo(next.InitialCoreState, 0);
                trajectory = next;
                t = 0;
            }

            request.Observations = trajectory.Observations.AsMemory(t * n * o, n * o);
            request.Outputs = trajectory.BehaviourPolicy.AsMemory(t * n * p, n * p);
            request.Actions = trajectory.Actions.AsMemory(t * n * a, n * a);
            request.Received = received;
            long version = await Submit(request).ConfigureAwait(false);
            if (t == 0) trajectory.PolicyVersion = version;

            reply.Actions.StepId = expected;
            reply.Actions.PolicyVersion = version;
            // The reply wraps actionBytes; it is serialised inside SendAsync, before the next step overwrites them.
            MemoryMarshal.AsBytes(request.Actions.Span).CopyTo(actionBytes);
            await socket.SendAsync(reply, cancellationToken).ConfigureAwait(false);
            Record(Stopwatch.GetElapsedTime(received).TotalMicroseconds);
            Interlocked.Add(ref _frames, n);
            t++;
            expected++;
        }
    }

    private void Record(double latencyMicroseconds)
    {
        lock (_statsGate)
        {
            if (_latencies.Count < 1_000_000) _latencies.Add(latencyMicroseconds);
        }
    }

    /// <summary>Queues <paramref name="request"/>; evaluates the batch here when this request completes it.</summary>
    private ValueTask<long> Submit(Request request)
    {
        var token = request.Prepare();
        List<Request>? full = null;
        int envs = 0;
        lock (_gate)
        {
            if (_stopping) throw new ObjectDisposedException(nameof(InferenceServer), "the inference server is stopping");
            _pending.Add(request);
            _pendingEnvs += request.Envs;
            // No signal to the timer thread otherwise: it looks every MaxWait (a wake-up per batch would cost more than it saves).
            if (_pending.Count >= Volatile.Read(ref _connections) || _pendingEnvs >= _options.MaxBatchSize || _options.MaxWait <= TimeSpan.Zero)
                full = TakePending(out envs);
        }
        if (full is not null) EvaluateAndComplete(full, envs);
        return new ValueTask<long>(request, token);
    }

    /// <summary>Under _gate: hands out the pending batch and starts an empty one.</summary>
    private List<Request> TakePending(out int envs)
    {
        var batch = _pending;
        envs = _pendingEnvs;
        _pending = _spare ?? new List<Request>(64);
        _spare = null;
        _pendingEnvs = 0;
        return batch;
    }

    /// <summary>
    /// The timer thread: evaluates a batch that is not complete once its first request has waited MaxWait. It polls
    /// every MaxWait rather than being woken per batch, so a partial batch waits between MaxWait and twice that.
    /// </summary>
    private void BatchLoop()
    {
        long maxWaitTicks = (long)(_options.MaxWait.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            List<Request> batch;
            int envs;
            lock (_gate)
            {
                if (_stopping) return;
                if (_pending.Count == 0 || _pending[0].Received + maxWaitTicks > Stopwatch.GetTimestamp())
                {
                    Monitor.Wait(_gate, _options.MaxWait > TimeSpan.Zero ? _options.MaxWait : Timeout.InfiniteTimeSpan);
                    continue;
                }
                batch = TakePending(out envs);
            }
            EvaluateAndComplete(batch, envs);
        }
    }

    private void EvaluateAndComplete(List<Request> batch, int envs)
    {
        long version;
        lock (_evaluateGate) version = Evaluate(batch, envs);
        // The other runners' sessions continue on the thread pool (in parallel); the evaluating session's own request is
        // complete before it awaits it, so it goes on sending its reply on this thread.
        foreach (var r in batch) r.Complete(version);
        batch.Clear();
        lock (_gate) _spare ??= batch;
    }

    private long Evaluate(List<Request> batch, int envs)
    {
        RefreshWeights();
        int o = _net.ObservationSize, p = _net.PolicyOutputSize, s = _net.CoreStateSize;
        if (_obs.Length < envs * o)
        {
            _obs = new float[envs * o];
            _outputs = new float[envs * p];
            _values = new float[envs];
            _coreStates = new float[envs * s];
        }
        int row = 0;
        foreach (var r in batch)
        {
            r.Observations.Span.CopyTo(_obs.AsSpan(row * o));
            r.CoreState.AsSpan().CopyTo(_coreStates.AsSpan(row * s));
            row += r.Envs;
        }
        _session.Evaluate(_obs.AsSpan(0, envs * o), envs, _coreStates.AsSpan(0, envs * s), _outputs.AsSpan(0, envs * p), _values.AsSpan(0, envs));
        row = 0;
        long version = _version;
        foreach (var r in batch)
        {
            var outputs = _outputs.AsSpan(row * p, r.Envs * p);
            outputs.CopyTo(r.Outputs.Span);
            _coreStates.AsSpan(row * s, r.Envs * s).CopyTo(r.CoreState);
            SampleActions(outputs, r.Actions.Span, r.Envs, p);
            row += r.Envs;
        }
        lock (_statsGate)
        {
            _batchSizes[envs] = _batchSizes.GetValueOrDefault(envs) + 1;
            _batches++;
        }
        return version;
    }

    private void SampleActions(ReadOnlySpan<float> outputs, Span<float> actions, int envs, int p)
    {
        if (_discrete)
        {
            for (int i = 0; i < envs; i++) actions[i] = Categorical.Sample(outputs.Slice(i * p, p), ref _rng);
            return;
        }
        int d = p / 2;
        for (int i = 0; i < envs; i++)
        {
            var row = outputs.Slice(i * p, p);
            DiagonalGaussian.Sample(row[..d], row[d..], ref _rng, actions.Slice(i * d, d));
        }
    }

    private void RefreshWeights()
    {
        if (_weights.LatestVersion <= _version) return;
        var snapshot = _weights.TryGetNewerAsync(_version, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (snapshot is null) return;
        _net.Parameters.CopyFrom(snapshot.Values);
        Interlocked.Exchange(ref _version, snapshot.Version);
    }

    public async ValueTask DisposeAsync()
    {
        List<Request> abandoned;
        lock (_gate)
        {
            _stopping = true;
            abandoned = TakePending(out _);
            Monitor.PulseAll(_gate);
        }
        foreach (var r in abandoned) r.Fail(new ObjectDisposedException(nameof(InferenceServer), "the inference server is stopping"));
        await Task.Run(() => _batcher.Join(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
    }

    /// <summary>One runner's pending evaluation; reused for every step of that runner (one in flight at a time).</summary>
    private sealed class Request(int envs) : IValueTaskSource<long>
    {
        private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = true };

        public int Envs { get; } = envs;
        public ReadOnlyMemory<float> Observations;
        public Memory<float> Outputs;
        public Memory<float> Actions;
        /// <summary>[Envs, CoreStateSize]: the session's per-slot recurrent state, read and updated by each evaluation.</summary>
        public float[] CoreState = [];
        public long Received;

        public short Prepare()
        {
            _core.Reset();
            return _core.Version;
        }

        public void Complete(long version) => _core.SetResult(version);

        public void Fail(Exception error) => _core.SetException(error);

        public long GetResult(short token) => _core.GetResult(token);
        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
