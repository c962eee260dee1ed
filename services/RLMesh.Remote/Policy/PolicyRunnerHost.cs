using System.Runtime.InteropServices;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Policy;

/// <summary>
/// Trainer side of policy runners (ClusterEnv's form): runners step their envs with a local policy copy and
/// upload full unrolls, which go to the learner's queue; they ask for weights only when their sync policy says
/// so (APS: divergence above tau), reading the divergence board and the weight store through this connection.
/// </summary>
public sealed class PolicyRunnerHost(ITrajectoryQueue queue, IWeightStore weights, IDivergenceBoard board)
{
    private long _unrolls, _weightPulls, _weightBytes;

    public long UnrollsReceived => Interlocked.Read(ref _unrolls);
    public long WeightPulls => Interlocked.Read(ref _weightPulls);
    public long WeightPullBytes => Interlocked.Read(ref _weightBytes);

    internal async Task ServeAsync(RemoteServer server, FrameSocket socket, Hello hello, CancellationToken cancellationToken)
    {
        string runner = hello.RunnerId;
        var ack = new RemoteFrame { UnrollAck = new UnrollAck() };
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
            switch (frame?.BodyCase)
            {
                case null:
                case RemoteFrame.BodyOneofCase.Goodbye:
                    return;
                case RemoteFrame.BodyOneofCase.UnrollUpload:
                {
                    Core.Data.Trajectory unroll;
                    try
                    {
                        unroll = TrajectoryCodec.Decode(frame.UnrollUpload.Unroll.Span);
                    }
                    catch (InvalidMessageException e)
                    {
                        await server.RejectAsync(socket, "malformed", RemoteErrorCode.MalformedFrame, $"unroll refused: {e.Reason}", cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    // The divergence the learner measures is keyed by the runner the connection belongs to.
                    unroll.Source = runner;
                    await queue.EnqueueAsync(unroll, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _unrolls);
                    ack.UnrollAck.LatestVersion = weights.LatestVersion;
                    await socket.SendAsync(ack, cancellationToken).ConfigureAwait(false);
                    break;
                }
                case RemoteFrame.BodyOneofCase.WeightsRequest:
                {
                    var snapshot = await weights.TryGetNewerAsync(frame.WeightsRequest.KnownVersion, cancellationToken).ConfigureAwait(false);
                    var reply = new WeightsReply { Version = -1 };
                    if (snapshot is not null)
                    {
                        reply.Version = snapshot.Version;
                        reply.Values = RemoteProtocol.Pack(snapshot.Values);
                        Interlocked.Increment(ref _weightPulls);
                        Interlocked.Add(ref _weightBytes, snapshot.Values.Length * sizeof(float));
                    }
                    await socket.SendAsync(new RemoteFrame { WeightsReply = reply }, cancellationToken).ConfigureAwait(false);
                    break;
                }
                case RemoteFrame.BodyOneofCase.DivergenceRequest:
                {
                    var reading = await board.ReadDivergenceAsync(runner, cancellationToken).ConfigureAwait(false);
                    var tau = await board.ReadThresholdAsync(cancellationToken).ConfigureAwait(false);
                    var reply = new DivergenceReply { HasReading = reading is not null, HasThreshold = tau is not null, Threshold = tau ?? 0 };
                    if (reading is { } r)
                    {
                        reply.Divergence = r.Divergence;
                        reply.BehaviourVersion = r.BehaviourVersion;
                        reply.LearnerVersion = r.LearnerVersion;
                    }
                    await socket.SendAsync(new RemoteFrame { DivergenceReply = reply }, cancellationToken).ConfigureAwait(false);
                    break;
                }
                default:
                    await server.RejectAsync(socket, "unexpected", RemoteErrorCode.UnexpectedFrame,
                        $"a policy runner sends UnrollUpload, WeightsRequest, DivergenceRequest or Goodbye, not {frame.BodyCase}", cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }
}
