using System.Net.WebSockets;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using VectorStepResult = RLMesh.Messaging.Protos.VectorStepResult;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using EpisodeStats = RLMesh.Core.Data.EpisodeStats;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Env;

public enum RunnerMode
{
    /// <summary>Step sub-envs on the trainer's request (RemoteVectorEnv).</summary>
    RemoteEnv,
    /// <summary>Drive the sub-envs and ask the trainer's inference server for actions (SEED RL); no model here.</summary>
    CentralInference,
}

public sealed record RemoteEnvRunnerOptions
{
    /// <summary>ws://host:port/rlmesh/v1/env (or /inference): the trainer's address; the runner dials out.</summary>
    public required Uri Url { get; init; }
    public required string EnvId { get; init; }
    public int NumEnvs { get; init; } = 1;
    public string RunnerId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";
    public RunnerMode Mode { get; init; } = RunnerMode.RemoteEnv;
    /// <summary>Central inference: seed of the first reset (sub-env j gets seed + j); null for entropy.</summary>
    public ulong? Seed { get; init; }
    /// <summary>Tests: pause before each step reply (to make replies arrive out of order).</summary>
    public TimeSpan StepDelay { get; init; }
    /// <summary>Tests: the protocol major version to claim.</summary>
    public uint ProtocolMajor { get; init; } = RemoteProtocol.Major;
}

/// <summary>
/// The runner side: dials the trainer, introduces itself (Hello: versions, capability, env id, sub-env count,
/// spaces), then hosts a local <see cref="VectorEnv"/> — so its autoreset, flags and episode statistics are the
/// local ones by construction. Returns when the trainer says Goodbye or closes, or on cancellation.
/// A refused handshake throws <see cref="RemoteProtocolException"/> with the trainer's reason.
/// </summary>
public sealed class RemoteEnvRunner(RemoteEnvRunnerOptions options)
{
    private VectorEnv? _env;
    private float[] _obs = [], _rewards = [], _actions = [];
    private bool[] _terminated = [], _truncated = [], _autoreset = [];
    // Wire buffers reused every step (the frame wrapping them is sent before the next step writes them).
    private byte[] _obsBytes = [], _rewardBytes = [], _terminatedBytes = [], _truncatedBytes = [], _autoresetBytes = [];
    private readonly List<EpisodeStats> _episodes = [];

    public RemoteEnvRunnerOptions Options => options;
    private long _steps, _episodeCount, _policyVersion = -1;

    /// <summary>Vector steps taken. Like the other counters, safe to read from another thread (a heartbeat).</summary>
    public long Steps => Interlocked.Read(ref _steps);
    /// <summary>Episodes finished by the sub-environments.</summary>
    public long Episodes => Interlocked.Read(ref _episodeCount);
    /// <summary>Central inference: the policy version that chose the last actions (the learner's own); -1 before any.</summary>
    public long PolicyVersion => Interlocked.Read(ref _policyVersion);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var spec = EnvRegistry.Spec(options.EnvId);
        using var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
        await client.ConnectAsync(options.Url, cancellationToken).ConfigureAwait(false);
        var socket = new FrameSocket(client);
        await using (socket.ConfigureAwait(false))
        {
            var capability = options.Mode == RunnerMode.RemoteEnv ? Capability.RemoteEnv : Capability.CentralInference;
            await socket.SendAsync(new RemoteFrame
            {
                Hello = new Hello
                {
                    ProtocolMajor = options.ProtocolMajor,
                    ProtocolMinor = RemoteProtocol.Minor,
                    Capabilities = RemoteProtocol.Flag(capability),
                    RunnerId = options.RunnerId,
                    EnvId = options.EnvId,
                    NumEnvs = options.NumEnvs,
                    ObservationSpace = RemoteProtocol.ToSpec(spec.ObservationSpace),
                    ActionSpace = RemoteProtocol.ToSpec(spec.ActionSpace),
                },
            }, cancellationToken).ConfigureAwait(false);
            var answer = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            switch (answer?.BodyCase)
            {
                case RemoteFrame.BodyOneofCase.Welcome:
                    break;
                case RemoteFrame.BodyOneofCase.Error:
                    throw new RemoteProtocolException($"the trainer refused this runner: {answer.Error.Message}");
                default:
                    throw new RemoteProtocolException($"the trainer answered the Hello with {answer?.BodyCase.ToString() ?? "a close"}, not Welcome");
            }
            try
            {
                if (options.Mode == RunnerMode.RemoteEnv)
                    await ServeStepsAsync(socket, cancellationToken).ConfigureAwait(false);
                else
                    await DriveAsync(socket, cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException) when (!client.CloseStatus.HasValue)
            {
                // The trainer went away: nothing left to do.
            }
            await socket.CloseAsync("runner done").ConfigureAwait(false);
        }
    }

    private async Task ServeStepsAsync(FrameSocket socket, CancellationToken cancellationToken)
    {
        var stepFrame = new RemoteFrame { StepResult = new VectorStepResult() };
        while (true)
        {
            RemoteFrame? frame;
            try
            {
                frame = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidMessageException e)
            {
                await socket.SendAsync(RemoteProtocol.Error(RemoteErrorCode.MalformedFrame, e.Reason), cancellationToken).ConfigureAwait(false);
                continue;
            }
            switch (frame?.BodyCase)
            {
                case null:
                case RemoteFrame.BodyOneofCase.Goodbye:
                    return;
                case RemoteFrame.BodyOneofCase.Reset:
                {
                    var reset = frame.Reset;
                    if (reset.NumEnvs < 1 || reset.NumEnvs > options.NumEnvs)
                    {
                        await socket.SendAsync(RemoteProtocol.Error(RemoteErrorCode.UnexpectedFrame, $"reset asks for {reset.NumEnvs} sub-envs; this runner hosts 1..{options.NumEnvs}"), cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    Ensure(reset.NumEnvs);
                    _env!.Reset(reset.HasSeed ? reset.Seed : null, _obs);
                    await socket.SendAsync(new RemoteFrame { ResetResult = new RemoteResetResult { Observations = RemoteProtocol.Pack(_obs) } }, cancellationToken).ConfigureAwait(false);
                    break;
                }
                case RemoteFrame.BodyOneofCase.Step:
                {
                    var reply = StepOnce(frame.Step, stepFrame);
                    if (options.StepDelay > TimeSpan.Zero) await Task.Delay(options.StepDelay, cancellationToken).ConfigureAwait(false);
                    await socket.SendAsync(reply, cancellationToken).ConfigureAwait(false);
                    break;
                }
                case RemoteFrame.BodyOneofCase.Error:
                    // The trainer refused one of our frames; it is logged there, nothing to undo here.
                    break;
                default:
                    await socket.SendAsync(RemoteProtocol.Error(RemoteErrorCode.UnexpectedFrame, $"a remote-env runner takes Reset, Step and Goodbye, not {frame.BodyCase}"), cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    private RemoteFrame StepOnce(VectorStepRequest request, RemoteFrame stepFrame)
    {
        if (_env is null) return RemoteProtocol.Error(RemoteErrorCode.UnexpectedFrame, "Step before Reset");
        try
        {
            RemoteProtocol.ReadFloats(request.Actions, _actions, "actions");
            _env.Step(_actions, _obs, _rewards, _terminated, _truncated, _autoreset);
        }
        catch (InvalidMessageException e)
        {
            return RemoteProtocol.Error(RemoteErrorCode.MalformedFrame, e.Reason);
        }
        catch (ArgumentException e)
        {
            return RemoteProtocol.Error(RemoteErrorCode.EnvFailed, e.Message);
        }
        Interlocked.Increment(ref _steps);
        var result = stepFrame.StepResult;
        result.StepId = request.StepId;
        FillOutcome(result.Episodes, out var obs, out var rewards, out var terminated, out var truncated, out var autoreset);
        result.Observations = obs;
        result.Rewards = rewards;
        result.Terminated = terminated;
        result.Truncated = truncated;
        result.Autoreset = autoreset;
        return stepFrame;
    }

    private void FillOutcome(Google.Protobuf.Collections.RepeatedField<RemoteEpisode> episodes,
        out Google.Protobuf.ByteString obs, out Google.Protobuf.ByteString rewards, out Google.Protobuf.ByteString terminated,
        out Google.Protobuf.ByteString truncated, out Google.Protobuf.ByteString autoreset)
    {
        obs = RemoteProtocol.PackInto(_obs, ref _obsBytes);
        rewards = RemoteProtocol.PackInto(_rewards, ref _rewardBytes);
        terminated = RemoteProtocol.FlagsInto(_terminated, ref _terminatedBytes);
        truncated = RemoteProtocol.FlagsInto(_truncated, ref _truncatedBytes);
        autoreset = RemoteProtocol.FlagsInto(_autoreset, ref _autoresetBytes);
        episodes.Clear();
        _episodes.Clear();
        _env!.DrainEpisodes(_episodes);
        if (_episodes.Count > 0) Interlocked.Add(ref _episodeCount, _episodes.Count);
        foreach (var e in _episodes) episodes.Add(new RemoteEpisode { EnvIndex = e.EnvIndex, Return = e.Return, Length = e.Length });
    }

    /// <summary>Central inference: reset, then observations out, actions back, one frame each per vector step.</summary>
    private async Task DriveAsync(FrameSocket socket, CancellationToken cancellationToken)
    {
        Ensure(options.NumEnvs);
        _env!.Reset(options.Seed, _obs);
        var outFrame = new RemoteFrame { Observations = new ObservationBatch() };
        var batch = outFrame.Observations;
        batch.Observations = RemoteProtocol.PackInto(_obs, ref _obsBytes);
        ulong step = 0;
        while (true)
        {
            batch.StepId = step;
            await socket.SendAsync(outFrame, cancellationToken).ConfigureAwait(false);
            RemoteFrame? frame;
            try
            {
                frame = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidMessageException e)
            {
                throw new RemoteProtocolException($"the inference server sent a malformed frame: {e.Reason}");
            }
            switch (frame?.BodyCase)
            {
                case null:
                case RemoteFrame.BodyOneofCase.Goodbye:
                    return;
                case RemoteFrame.BodyOneofCase.Actions:
                    break;
                case RemoteFrame.BodyOneofCase.Error:
                    throw new RemoteProtocolException($"the inference server reported an error ({frame.Error.Code}): {frame.Error.Message}");
                default:
                    throw new RemoteProtocolException($"expected ActionBatch, got {frame.BodyCase}");
            }
            var actions = frame.Actions;
            if (actions.StepId != step) throw new RemoteProtocolException($"ActionBatch for step {actions.StepId}, expected {step}");
            try
            {
                RemoteProtocol.ReadFloats(actions.Actions, _actions, "actions");
            }
            catch (InvalidMessageException e)
            {
                throw new RemoteProtocolException($"the inference server sent invalid actions: {e.Reason}");
            }
            _env.Step(_actions, _obs, _rewards, _terminated, _truncated, _autoreset);
            Interlocked.Exchange(ref _policyVersion, actions.PolicyVersion);
            Interlocked.Increment(ref _steps);
            step++;
            FillOutcome(batch.Episodes, out var obs, out var rewards, out var terminated, out var truncated, out var autoreset);
            batch.Observations = obs;
            batch.Rewards = rewards;
            batch.Terminated = terminated;
            batch.Truncated = truncated;
            batch.Autoreset = autoreset;
        }
    }

    private void Ensure(int numEnvs)
    {
        if (_env is not null && _env.NumEnvs == numEnvs) return;
        _env = new VectorEnv(options.EnvId, numEnvs);
        _obs = new float[numEnvs * _env.ObservationSize];
        _actions = new float[numEnvs * _env.ActionSize];
        _rewards = new float[numEnvs];
        _terminated = new bool[numEnvs];
        _truncated = new bool[numEnvs];
        _autoreset = new bool[numEnvs];
    }
}
