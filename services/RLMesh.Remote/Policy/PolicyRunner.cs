using System.Net.WebSockets;
using System.Runtime.InteropServices;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Policy;

public sealed record PolicyRunnerOptions
{
    /// <summary>ws://host:port/rlmesh/v1/policy.</summary>
    public required Uri Url { get; init; }
    /// <summary>The run's options: env, network shape, unroll length, sync policy (APS by default here).</summary>
    public required TrainingOptions Training { get; init; }
    public string RunnerId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";
    public int NumEnvs { get; init; } = 8;
    public ulong Seed { get; init; } = 1;
}

/// <summary>
/// ClusterEnv's form, done with APS as its paper describes it: the user hands a policy (the network spec of the
/// run); this runner steps its own envs with a local copy (Core's <see cref="Actor"/>, unchanged) and uploads full
/// unrolls (observation, action, reward, terminated/truncated/valid, behaviour policy outputs from which log-probs
/// follow, policy version). Its weights stay fresh by pulling, per the sync policy, through the same
/// <see cref="IWeightStore"/> and <see cref="IDivergenceBoard"/> seams the embedded actors use - here carried over
/// the connection - not by a push every step.
/// </summary>
public sealed class PolicyRunner(PolicyRunnerOptions options)
{
    private readonly SemaphoreSlim _requestGate = new(1, 1);
    private TaskCompletionSource<RemoteFrame>? _pending;
    private long _latestVersion = -1;
    private FrameSocket? _socket;

    /// <summary>The backends the local policy copy is built with; native only unless the host registers more.</summary>
    public NetworkFactory Networks { get; init; } = NetworkFactory.NativeOnly;

    public Actor? Actor { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var o = options.Training;
        var spec = EnvRegistry.Spec(o.EnvId);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(options.Url, cancellationToken).ConfigureAwait(false);
        var socket = _socket = new FrameSocket(client);
        await using (socket.ConfigureAwait(false))
        {
            await socket.SendAsync(new RemoteFrame
            {
                Hello = new Hello
                {
                    ProtocolMajor = RemoteProtocol.Major, ProtocolMinor = RemoteProtocol.Minor,
                    Capabilities = RemoteProtocol.Flag(Capability.PolicyRunner), RunnerId = options.RunnerId,
                    EnvId = o.EnvId, NumEnvs = options.NumEnvs,
                    ObservationSpace = RemoteProtocol.ToSpec(spec.ObservationSpace), ActionSpace = RemoteProtocol.ToSpec(spec.ActionSpace),
                },
            }, cancellationToken).ConfigureAwait(false);
            var answer = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (answer?.BodyCase != RemoteFrame.BodyOneofCase.Welcome)
                throw new RemoteProtocolException($"the trainer refused this runner: {(answer?.BodyCase == RemoteFrame.BodyOneofCase.Error ? answer.Error.Message : answer?.BodyCase.ToString() ?? "closed")}");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var reader = Task.Run(() => ReadAsync(socket, stop), CancellationToken.None);
            var net = Networks.Create(PolicyFactory.SpecFor(o), o.Seed);
            var actor = Actor = new Actor(options.RunnerId, new VectorEnv(o.EnvId, options.NumEnvs), net, o.UnrollLength, options.Seed)
            {
                SyncPolicy = o.Sync.CreatePolicy(),
                DivergenceBoard = new Board(this),
            };
            try
            {
                await actor.RunAsync(new Uploads(this), new Weights(this), stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The trainer went away or the caller stopped us.
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await socket.CloseAsync("runner done").ConfigureAwait(false);
                try { await reader.ConfigureAwait(false); }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
            }
        }
    }

    private async Task ReadAsync(FrameSocket socket, CancellationTokenSource stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var frame = await socket.ReceiveAsync(stop.Token).ConfigureAwait(false);
                if (frame is null || frame.BodyCase == RemoteFrame.BodyOneofCase.Goodbye) break;
                if (frame.BodyCase == RemoteFrame.BodyOneofCase.UnrollAck)
                    Interlocked.Exchange(ref _latestVersion, frame.UnrollAck.LatestVersion);
                if (frame.BodyCase == RemoteFrame.BodyOneofCase.Error)
                    _pending?.TrySetException(new RemoteProtocolException($"the trainer refused a frame: {frame.Error.Message}"));
                else
                    _pending?.TrySetResult(frame);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or InvalidMessageException)
        {
            // Ends the session below.
        }
        _pending?.TrySetCanceled();
        await stop.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>One request, one reply: the actor is sequential, so one is ever in flight.</summary>
    private async ValueTask<RemoteFrame> RequestAsync(RemoteFrame request, RemoteFrame.BodyOneofCase expected, CancellationToken cancellationToken)
    {
        await _requestGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pending = _pending = new TaskCompletionSource<RemoteFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
            await _socket!.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var reply = await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (reply.BodyCase != expected) throw new RemoteProtocolException($"expected {expected}, got {reply.BodyCase}");
            return reply;
        }
        finally
        {
            _requestGate.Release();
        }
    }

    private sealed class Uploads(PolicyRunner runner) : ITrajectoryQueue
    {
        public int Depth => 0;

        public async ValueTask EnqueueAsync(Trajectory trajectory, CancellationToken cancellationToken) =>
            await runner.RequestAsync(new RemoteFrame { UnrollUpload = new UnrollUpload { Unroll = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(TrajectoryCodec.Encode(trajectory)) } },
                RemoteFrame.BodyOneofCase.UnrollAck, cancellationToken).ConfigureAwait(false);

        public ValueTask<Trajectory> DequeueAsync(CancellationToken cancellationToken) =>
            throw new NotSupportedException("a policy runner only uploads");
    }

    private sealed class Weights(PolicyRunner runner) : IWeightStore
    {
        public long LatestVersion => Interlocked.Read(ref runner._latestVersion);

        public ValueTask PublishAsync(WeightSnapshot snapshot, CancellationToken cancellationToken) =>
            throw new NotSupportedException("runners do not publish weights");

        public async ValueTask<WeightSnapshot?> TryGetNewerAsync(long knownVersion, CancellationToken cancellationToken)
        {
            var reply = (await runner.RequestAsync(new RemoteFrame { WeightsRequest = new WeightsRequest { KnownVersion = knownVersion } },
                RemoteFrame.BodyOneofCase.WeightsReply, cancellationToken).ConfigureAwait(false)).WeightsReply;
            if (reply.Version < 0) return null;
            var values = MemoryMarshal.Cast<byte, float>(reply.Values.Span).ToArray();
            RemoteProtocol.CheckFinite(values, "weights");
            return new WeightSnapshot(reply.Version, values);
        }
    }

    private sealed class Board(PolicyRunner runner) : IDivergenceBoard
    {
        private DivergenceReply? _last;

        public ValueTask PublishDivergenceAsync(string runnerId, DivergenceReading reading, CancellationToken cancellationToken) =>
            throw new NotSupportedException("the learner publishes divergence");

        public ValueTask PublishThresholdAsync(double tau, CancellationToken cancellationToken) =>
            throw new NotSupportedException("the trainer publishes tau");

        public async ValueTask<DivergenceReading?> ReadDivergenceAsync(string runnerId, CancellationToken cancellationToken)
        {
            // One round trip answers both reads: the actor reads divergence, then the threshold.
            var reply = _last = (await runner.RequestAsync(new RemoteFrame { DivergenceRequest = new DivergenceRequest() },
                RemoteFrame.BodyOneofCase.DivergenceReply, cancellationToken).ConfigureAwait(false)).DivergenceReply;
            return reply.HasReading ? new DivergenceReading(reply.Divergence, reply.BehaviourVersion, reply.LearnerVersion) : null;
        }

        public ValueTask<double?> ReadThresholdAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult(_last is { HasThreshold: true } r ? r.Threshold : (double?)null);
    }
}
