using System.Collections.ObjectModel;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using EpisodeStats = RLMesh.Core.Data.EpisodeStats;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Protocol;
using CoreVectorStepResult = RLMesh.Core.Envs.VectorStepResult;
using WireVectorStepResult = RLMesh.Messaging.Protos.VectorStepResult;

namespace RLMesh.Remote.Env;

/// <summary>What happens to a lost runner's slots.</summary>
public enum LostRunnerPolicy
{
    /// <summary>The step throws a <see cref="RemoteEnvException"/> naming the slots (the default: nothing is hidden).</summary>
    Throw,
    /// <summary>The slots move to a standby runner with a fresh reset (autoreset on that step, "reassigned" in info).</summary>
    Reassign,
}

public sealed record RemoteVectorEnvOptions
{
    public LostRunnerPolicy OnRunnerLost { get; init; } = LostRunnerPolicy.Throw;
    /// <summary>Reassign: how long a step waits for a standby runner to join before it throws.</summary>
    public TimeSpan ReassignTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>A runner that does not answer a step within this is lost (a hung runner, not a slow one).</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Cancels blocking Reset/Step calls (the span API has no token parameter, to match the local VectorEnv).</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>Slots <see cref="Slots"/> moved from <see cref="FromRunner"/> (lost: <see cref="Reason"/>) to <see cref="ToRunner"/>.</summary>
public sealed record SlotReassignment(long Step, IReadOnlyList<int> Slots, string FromRunner, string ToRunner, string Reason);

/// <summary>
/// A vector environment whose sub-environments live in runner processes (ClusterEnv's DETACH, done properly):
/// the same <see cref="IVectorEnv"/> contract and semantics as the local <see cref="VectorEnv"/> (next-step
/// autoreset, terminated and truncated apart, episode statistics), one request frame per runner per vector step.
/// Slot i always maps to the same remote sub-environment: runner k's replies land in its fixed slot range,
/// whatever order they arrive in. A lost runner's slots are never silently dropped: see <see cref="LostRunnerPolicy"/>.
/// Not thread-safe (like VectorEnv): one caller steps it.
/// </summary>
public sealed class RemoteVectorEnv : IVectorEnv, IDisposable
{
    private static readonly IReadOnlyDictionary<string, object> EmptyInfo = ReadOnlyDictionary<string, object>.Empty;

    private readonly RemoteServer _server;
    private readonly RemoteVectorEnvOptions _options;
    private readonly Assignment[] _assignments;
    private readonly List<EpisodeStats> _finished;
    private readonly List<SlotReassignment> _reassignments = [];
    private readonly List<Assignment> _lost = [];
    private readonly bool[] _reassignedMask;
    private bool _ready;
    private bool _anyReassigned;
    private long _steps;
    private RemoteEnvException? _broken;

    private sealed class Assignment(RemoteRunner runner, int first, int count)
    {
        public RemoteRunner Runner = runner;
        public readonly int First = first;
        public readonly int Count = count;
        public readonly RemoteFrame StepFrame = new() { Step = new VectorStepRequest() };
        public int[] Slots => Enumerable.Range(First, Count).ToArray();
    }

    private RemoteVectorEnv(RemoteServer server, List<(RemoteRunner Runner, int Count)> runners, int numEnvs, RemoteVectorEnvOptions options)
    {
        _server = server;
        _options = options;
        _assignments = new Assignment[runners.Count];
        int first = 0;
        for (int k = 0; k < runners.Count; k++)
        {
            _assignments[k] = new Assignment(runners[k].Runner, first, runners[k].Count);
            first += runners[k].Count;
        }
        NumEnvs = numEnvs;
        SingleObservationSpace = runners[0].Runner.ObservationSpace;
        SingleActionSpace = runners[0].Runner.ActionSpace;
        ObservationSize = SingleObservationSpace.Size;
        ActionSize = SingleActionSpace.Size;
        _finished = new List<EpisodeStats>(numEnvs * 4);
        _reassignedMask = new bool[numEnvs];
    }

    /// <summary>
    /// Waits until registered standby runners offer <paramref name="numEnvs"/> sub-envs (no deadline but the
    /// token: runners may join whenever they start), then takes them in join order: slots 0.. go to the first runner.
    /// </summary>
    public static async Task<RemoteVectorEnv> CreateAsync(RemoteServer server, int numEnvs, RemoteVectorEnvOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentOutOfRangeException.ThrowIfLessThan(numEnvs, 1);
        while (true)
        {
            await server.Runners.WaitForCapacityAsync(numEnvs, cancellationToken).ConfigureAwait(false);
            var taken = server.Runners.TryTake(numEnvs);
            if (taken is not null) return new RemoteVectorEnv(server, taken, numEnvs, options ?? new RemoteVectorEnvOptions());
        }
    }

    public int NumEnvs { get; }
    public string Id => _server.EnvId;
    public Space SingleObservationSpace { get; }
    public Space SingleActionSpace { get; }
    public int ObservationSize { get; }
    public int ActionSize { get; }
    public int PendingEpisodes => _finished.Count;

    /// <summary>Which runner holds each slot range now.</summary>
    public IReadOnlyList<(string RunnerId, int FirstSlot, int Count)> Layout =>
        _assignments.Select(a => (a.Runner.Id, a.First, a.Count)).ToArray();

    /// <summary>Every slot re-assignment so far, oldest first.</summary>
    public IReadOnlyList<SlotReassignment> Reassignments => _reassignments;

    public void Reset(ulong? seed, Span<float> observations)
    {
        ThrowIfBroken();
        CheckLength(observations.Length, NumEnvs * ObservationSize, nameof(observations));
        var token = _options.Cancellation;
        _lost.Clear();
        foreach (var a in _assignments)
        {
            try
            {
                a.Runner.Send(ResetFrame(seed, a), token);
            }
            catch (RunnerLostException)
            {
                _lost.Add(a);
            }
        }
        foreach (var a in _assignments)
        {
            if (_lost.Contains(a)) continue;
            try
            {
                ReadReset(a, a.Runner.WaitReply(_options.StepTimeout, token), observations);
            }
            catch (RunnerLostException)
            {
                _lost.Add(a);
            }
        }
        foreach (var a in _lost)
            ResetOnReplacement(a, seed, $"reset of slots {a.First}..{a.First + a.Count - 1}", observations);
        _finished.Clear();
        _ready = true;
    }

    public void Step(ReadOnlySpan<float> actions, Span<float> observations, Span<float> rewards,
        Span<bool> terminated, Span<bool> truncated, Span<bool> autoreset)
    {
        ThrowIfBroken();
        if (!_ready) throw new InvalidOperationException("Call Reset before Step.");
        int n = ObservationSize, m = ActionSize;
        CheckLength(actions.Length, NumEnvs * m, nameof(actions));
        CheckLength(observations.Length, NumEnvs * n, nameof(observations));
        CheckLength(rewards.Length, NumEnvs, nameof(rewards));
        CheckLength(terminated.Length, NumEnvs, nameof(terminated));
        CheckLength(truncated.Length, NumEnvs, nameof(truncated));
        CheckLength(autoreset.Length, NumEnvs, nameof(autoreset));
        var token = _options.Cancellation;
        ulong stepId = (ulong)++_steps;
        _lost.Clear();
        if (_anyReassigned)
        {
            Array.Clear(_reassignedMask);
            _anyReassigned = false;
        }

        // All requests first, then the replies: the runners step in parallel; each reply fills its own slot range.
        foreach (var a in _assignments)
        {
            var request = a.StepFrame.Step;
            request.StepId = stepId;
            request.Actions = RemoteProtocol.Pack(actions.Slice(a.First * m, a.Count * m));
            try
            {
                a.Runner.Send(a.StepFrame, token);
            }
            catch (RunnerLostException)
            {
                _lost.Add(a);
            }
        }
        foreach (var a in _assignments)
        {
            if (_lost.Count > 0 && _lost.Contains(a)) continue;
            RemoteFrame reply;
            try
            {
                reply = a.Runner.WaitReply(_options.StepTimeout, token);
            }
            catch (RunnerLostException)
            {
                _lost.Add(a);
                continue;
            }
            ReadStep(a, reply, stepId, observations, rewards, terminated, truncated, autoreset);
        }

        foreach (var a in _lost)
        {
            ResetOnReplacement(a, null, $"step {stepId}", observations);
            for (int i = a.First; i < a.First + a.Count; i++)
            {
                // A reset the caller did not ask for: reported like next-step autoreset (not a transition).
                rewards[i] = 0f;
                terminated[i] = false;
                truncated[i] = false;
                autoreset[i] = true;
                _reassignedMask[i] = true;
            }
            _anyReassigned = true;
        }
    }

    public int DrainEpisodes(ICollection<EpisodeStats> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        int count = _finished.Count;
        for (int i = 0; i < count; i++) into.Add(_finished[i]);
        _finished.Clear();
        return count;
    }

    public VectorResetResult Reset(ulong? seed = null)
    {
        var obs = new float[NumEnvs * ObservationSize];
        Reset(seed, obs);
        return new VectorResetResult(obs, EmptyInfo);
    }

    /// <summary>
    /// Friendly step, as VectorEnv's: info "autoreset"; "episode"/"_episode" when episodes finished (the
    /// observation returned on that step is the episode's final observation); "reassigned" (bool[] by slot) and
    /// "reassignments" when a lost runner's slots moved on this step.
    /// </summary>
    public CoreVectorStepResult Step(float[] actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        var obs = new float[NumEnvs * ObservationSize];
        var rewards = new float[NumEnvs];
        var terminated = new bool[NumEnvs];
        var truncated = new bool[NumEnvs];
        var autoreset = new bool[NumEnvs];
        int before = _finished.Count, reassignedBefore = _reassignments.Count;
        Step(actions, obs, rewards, terminated, truncated, autoreset);
        var info = new Dictionary<string, object> { ["autoreset"] = autoreset };
        if (_finished.Count > before)
        {
            var episodes = _finished.GetRange(before, _finished.Count - before).ToArray();
            _finished.RemoveRange(before, episodes.Length);
            var mask = new bool[NumEnvs];
            foreach (var e in episodes) mask[e.EnvIndex] = true;
            info["episode"] = episodes;
            info["_episode"] = mask;
        }
        if (_anyReassigned)
        {
            info["reassigned"] = (bool[])_reassignedMask.Clone();
            info["reassignments"] = _reassignments.Skip(reassignedBefore).ToArray();
        }
        return new CoreVectorStepResult(obs, rewards, terminated, truncated, info);
    }

    /// <summary>Moves a lost runner's slots per policy and resets them there; a replacement lost too is a hard failure.</summary>
    private void ResetOnReplacement(Assignment a, ulong? seed, string during, Span<float> observations)
    {
        var replacement = Replace(a, during);
        try
        {
            replacement.Send(ResetFrame(seed, a), _options.Cancellation);
            ReadReset(a, replacement.WaitReply(_options.StepTimeout, _options.Cancellation), observations);
        }
        catch (RunnerLostException e)
        {
            throw Broken(new RemoteEnvException(
                $"runner {replacement.Id}, which took over slots {a.First}..{a.First + a.Count - 1}, was lost too ({replacement.LostReason}); those slots have no environment.",
                a.Slots, replacement.Id, e));
        }
    }

    private static RemoteFrame ResetFrame(ulong? seed, Assignment a) => new()
    {
        Reset = new RemoteReset
        {
            HasSeed = seed is not null,
            Seed = seed is ulong s ? s + (ulong)a.First : 0,
            NumEnvs = a.Count,
        },
    };

    private void ReadReset(Assignment a, RemoteFrame reply, Span<float> observations)
    {
        if (reply.BodyCase != RemoteFrame.BodyOneofCase.ResetResult) ThrowUnexpected(a, reply, "ResetResult");
        try
        {
            var obs = observations.Slice(a.First * ObservationSize, a.Count * ObservationSize);
            RemoteProtocol.ReadFloats(reply.ResetResult.Observations, obs, "observations");
            RemoteProtocol.CheckFinite(obs, "observations");
        }
        catch (InvalidMessageException e)
        {
            throw Broken(new RemoteEnvException($"runner {a.Runner.Id} sent an invalid ResetResult for slots {a.First}..{a.First + a.Count - 1}: {e.Reason}", a.Slots, a.Runner.Id, e));
        }
    }

    private void ReadStep(Assignment a, RemoteFrame reply, ulong stepId, Span<float> observations, Span<float> rewards,
        Span<bool> terminated, Span<bool> truncated, Span<bool> autoreset)
    {
        if (reply.BodyCase != RemoteFrame.BodyOneofCase.StepResult) ThrowUnexpected(a, reply, "StepResult");
        var r = reply.StepResult;
        try
        {
            if (r.StepId != stepId) throw new InvalidMessageException($"step_id {r.StepId} answers no request (expected {stepId})");
            int first = a.First, count = a.Count;
            var obs = observations.Slice(first * ObservationSize, count * ObservationSize);
            RemoteProtocol.ReadFloats(r.Observations, obs, "observations");
            RemoteProtocol.CheckFinite(obs, "observations");
            RemoteProtocol.ReadFloats(r.Rewards, rewards.Slice(first, count), "rewards");
            RemoteProtocol.CheckFinite(rewards.Slice(first, count), "rewards");
            RemoteProtocol.ReadFlags(r.Terminated, terminated.Slice(first, count), "terminated");
            RemoteProtocol.ReadFlags(r.Truncated, truncated.Slice(first, count), "truncated");
            RemoteProtocol.ReadFlags(r.Autoreset, autoreset.Slice(first, count), "autoreset");
            foreach (var e in r.Episodes)
            {
                if ((uint)e.EnvIndex >= (uint)count) throw new InvalidMessageException($"episode env_index {e.EnvIndex} is outside the runner's {count} sub-envs");
                _finished.Add(new EpisodeStats(first + e.EnvIndex, e.Return, e.Length));
            }
        }
        catch (InvalidMessageException e)
        {
            throw Broken(new RemoteEnvException($"runner {a.Runner.Id} sent an invalid StepResult for slots {a.First}..{a.First + a.Count - 1}: {e.Reason}", a.Slots, a.Runner.Id, e));
        }
    }

    private void ThrowUnexpected(Assignment a, RemoteFrame reply, string expected)
    {
        string what = reply.BodyCase == RemoteFrame.BodyOneofCase.Error
            ? $"reported an error ({reply.Error.Code}): {reply.Error.Message}"
            : $"answered {reply.BodyCase} where {expected} was due";
        throw Broken(new RemoteEnvException($"runner {a.Runner.Id} (slots {a.First}..{a.First + a.Count - 1}) {what}", a.Slots, a.Runner.Id));
    }

    /// <summary>The lost runner's replacement per policy, or the exception that names the slots.</summary>
    private RemoteRunner Replace(Assignment a, string during)
    {
        var lost = a.Runner;
        string slots = $"{a.First}..{a.First + a.Count - 1}";
        if (_options.OnRunnerLost == LostRunnerPolicy.Throw)
            throw Broken(new RemoteEnvException(
                $"runner {lost.Id} was lost during {during} ({lost.LostReason}); slots {slots} have no environment. " +
                "Use LostRunnerPolicy.Reassign to move them to a standby runner.", a.Slots, lost.Id));
        var replacement = _server.Runners.TakeStandbyAsync(a.Count, _options.ReassignTimeout, _options.Cancellation).GetAwaiter().GetResult()
            ?? throw Broken(new RemoteEnvException(
                $"runner {lost.Id} was lost during {during} ({lost.LostReason}) and no standby runner with {a.Count} free sub-envs joined within {_options.ReassignTimeout.TotalSeconds:0} s; slots {slots} have no environment.",
                a.Slots, lost.Id));
        a.Runner = replacement;
        _reassignments.Add(new SlotReassignment(_steps, a.Slots, lost.Id, replacement.Id, lost.LostReason ?? "lost"));
        return replacement;
    }

    private RemoteEnvException Broken(RemoteEnvException e)
    {
        _broken = e;
        return e;
    }

    private void ThrowIfBroken()
    {
        if (_broken is not null)
            throw new RemoteEnvException($"this remote vector env is unusable after an earlier failure: {_broken.Message}", _broken.Slots, _broken.RunnerId, _broken);
    }

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} must have {expected} elements (NumEnvs x per-env size), got {actual}.", name);
    }

    /// <summary>Says Goodbye to the runners it holds (they exit).</summary>
    public void Dispose()
    {
        foreach (var a in _assignments) a.Runner.Release("remote vector env disposed");
    }
}
