using System.Net.WebSockets;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Env;

/// <summary>
/// One connected remote-env runner as the trainer sees it. The server's connection handler reads its frames
/// (<see cref="RunnerPool.ServeAsync"/>) and hands replies to whoever waits in <see cref="WaitReply"/>; there is
/// at most one request in flight per runner (one vector step), so one reply slot is enough.
/// </summary>
public sealed class RemoteRunner
{
    private readonly ManualResetEventSlim _replied = new(false, spinCount: 100);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RemoteFrame? _reply;
    private volatile string? _lostReason;

    internal RemoteRunner(string id, int maxEnvs, Space observationSpace, Space actionSpace, FrameSocket socket, long joinOrder)
    {
        Id = id;
        MaxEnvs = maxEnvs;
        ObservationSpace = observationSpace;
        ActionSpace = actionSpace;
        Socket = socket;
        JoinOrder = joinOrder;
    }

    public string Id { get; }
    /// <summary>Most sub-envs the runner hosts (its Hello's num_envs).</summary>
    public int MaxEnvs { get; }
    public Space ObservationSpace { get; }
    public Space ActionSpace { get; }
    public long JoinOrder { get; }
    public bool IsAlive => _lostReason is null;
    /// <summary>Why the runner is gone (null while alive).</summary>
    public string? LostReason => _lostReason;
    /// <summary>Held by a RemoteVectorEnv (else standby).</summary>
    public bool IsAssigned { get; internal set; }

    internal FrameSocket Socket { get; }
    internal Task Finished => _finished.Task;

    /// <summary>Sends a request; a failed send marks the runner lost and throws <see cref="RunnerLostException"/>.</summary>
    internal void Send(RemoteFrame frame, CancellationToken cancellationToken)
    {
        if (!IsAlive) throw new RunnerLostException(this);
        _replied.Reset();
        _reply = null;
        try
        {
            var pending = Socket.SendAsync(frame, cancellationToken);
            if (!pending.IsCompletedSuccessfully) pending.AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException)
        {
            Lose($"send failed: {e.Message}");
            throw new RunnerLostException(this);
        }
    }

    /// <summary>Blocks until the runner answers the request in flight, is lost, or the timeout passes (then it counts as lost).</summary>
    internal RemoteFrame WaitReply(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_replied.Wait(timeout, cancellationToken))
            Lose($"no reply within {timeout.TotalSeconds:0.###} s");
        var reply = Volatile.Read(ref _reply);
        if (reply is null) throw new RunnerLostException(this);
        return reply;
    }

    internal void Deliver(RemoteFrame frame)
    {
        Volatile.Write(ref _reply, frame);
        _replied.Set();
    }

    internal void Lose(string reason)
    {
        _lostReason ??= reason;
        _replied.Set();
        _finished.TrySetResult();
    }

    /// <summary>Ends the session with Goodbye (the runner exits) and releases the connection.</summary>
    internal void Release(string reason)
    {
        if (!IsAlive) return;
        try
        {
            var pending = Socket.SendAsync(new RemoteFrame { Goodbye = new Goodbye { Reason = reason } }, CancellationToken.None);
            if (!pending.IsCompletedSuccessfully) pending.AsTask().Wait(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or AggregateException or IOException)
        {
            // Already gone.
        }
        Lose($"released: {reason}");
    }
}

/// <summary>The runner went away (closed, dropped, timed out or broke the protocol) while a request was in flight.</summary>
internal sealed class RunnerLostException(RemoteRunner runner) : Exception($"runner {runner.Id} was lost: {runner.LostReason}")
{
    public RemoteRunner Runner { get; } = runner;
}

/// <summary>
/// Registered remote-env runners: they join by connecting (any time; nobody waits with a deadline except the
/// caller's own cancellation), leave by closing, and are handed to RemoteVectorEnvs in join order. Runners not
/// held by an env are standby: a lost runner's slots can move to one.
/// </summary>
public sealed class RunnerPool : IDisposable
{
    private readonly object _gate = new();
    private readonly List<RemoteRunner> _runners = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _joins;
    private bool _disposed;

    /// <summary>Raised (on the connection's thread) when a runner completes its handshake.</summary>
    public event Action<RemoteRunner>? Joined;
    /// <summary>Raised when a runner's connection ends, with the reason.</summary>
    public event Action<RemoteRunner>? Left;

    public IReadOnlyList<RemoteRunner> Snapshot()
    {
        lock (_gate) return _runners.ToArray();
    }

    public int Count
    {
        get { lock (_gate) return _runners.Count; }
    }

    /// <summary>Waits (no deadline but the token) until standby runners offer at least <paramref name="envs"/> sub-envs.</summary>
    public async Task WaitForCapacityAsync(int envs, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_runners.Where(r => r.IsAlive && !r.IsAssigned).Sum(r => r.MaxEnvs) >= envs) return;
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes standby runners in join order until they cover <paramref name="envs"/> sub-envs; null if they do not.</summary>
    internal List<(RemoteRunner Runner, int Count)>? TryTake(int envs)
    {
        lock (_gate)
        {
            var taken = new List<(RemoteRunner, int)>();
            int left = envs;
            foreach (var r in _runners.Where(r => r.IsAlive && !r.IsAssigned).OrderBy(r => r.JoinOrder))
            {
                if (left == 0) break;
                int count = Math.Min(left, r.MaxEnvs);
                taken.Add((r, count));
                left -= count;
            }
            if (left > 0) return null;
            foreach (var (r, _) in taken) r.IsAssigned = true;
            return taken;
        }
    }

    /// <summary>One standby runner able to host <paramref name="envs"/> sub-envs, waiting up to <paramref name="timeout"/> for one to join.</summary>
    internal async Task<RemoteRunner?> TakeStandbyAsync(int envs, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var runner = _runners.Where(r => r.IsAlive && !r.IsAssigned && r.MaxEnvs >= envs).OrderBy(r => r.JoinOrder).FirstOrDefault();
                if (runner is not null)
                {
                    runner.IsAssigned = true;
                    return runner;
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    /// <summary>The connection's life after a successful handshake: register, read replies, unregister.</summary>
    internal async Task ServeAsync(RemoteServer server, FrameSocket socket, Hello hello, CancellationToken cancellationToken)
    {
        RemoteRunner runner;
        lock (_gate)
        {
            string id = string.IsNullOrEmpty(hello.RunnerId) ? $"runner-{_joins}" : hello.RunnerId;
            if (_runners.Any(r => r.Id == id)) id = $"{id}#{_joins}";
            runner = new RemoteRunner(id, hello.NumEnvs, RemoteProtocol.FromSpec(hello.ObservationSpace),
                RemoteProtocol.FromSpec(hello.ActionSpace), socket, _joins++);
            _runners.Add(runner);
        }
        Signal();
        Joined?.Invoke(runner);
        try
        {
            while (runner.IsAlive)
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
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                {
                    runner.Lose($"connection dropped ({e.GetType().Name}: {e.Message})");
                    break;
                }
                switch (frame?.BodyCase)
                {
                    case null:
                        runner.Lose("closed the connection");
                        break;
                    case RemoteFrame.BodyOneofCase.Goodbye:
                        runner.Lose($"said goodbye: {frame.Goodbye.Reason}");
                        break;
                    case RemoteFrame.BodyOneofCase.StepResult or RemoteFrame.BodyOneofCase.ResetResult or RemoteFrame.BodyOneofCase.Error:
                        runner.Deliver(frame);
                        break;
                    default:
                        await server.RejectAsync(socket, "unexpected", RemoteErrorCode.UnexpectedFrame,
                            $"a runner may send StepResult, ResetResult, Error or Goodbye here, not {frame.BodyCase}", cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
        }
        finally
        {
            runner.Lose("connection ended");
            lock (_gate) _runners.Remove(runner);
            Signal();
            Left?.Invoke(runner);
            await socket.CloseAsync(runner.LostReason ?? "bye").ConfigureAwait(false);
        }
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }

    public void Dispose()
    {
        RemoteRunner[] all;
        lock (_gate)
        {
            _disposed = true;
            all = _runners.ToArray();
        }
        foreach (var r in all) r.Lose("server stopping");
        Signal();
    }
}
