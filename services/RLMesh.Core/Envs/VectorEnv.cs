using System.Collections.ObjectModel;
using RLMesh.Core.Data;

namespace RLMesh.Core.Envs;

public sealed record VectorResetResult(float[] Observations, IReadOnlyDictionary<string, object> Info);

/// <summary>
/// Friendly step result. Info holds "autoreset" (bool[]), and, when episodes finished on this step,
/// "episode" (EpisodeStats[] of those episodes) and "_episode" (bool[] mask by env index).
/// </summary>
public sealed record VectorStepResult(float[] Observations, float[] Rewards, bool[] Terminated, bool[] Truncated, IReadOnlyDictionary<string, object> Info);

/// <summary>
/// NumEnvs copies of one environment stepped in lock-step, with Gymnasium 1.x next-step autoreset:
/// the step after a sub-env's episode ended ignores its action, resets it and returns the reset
/// observation with reward 0, both flags false and autoreset true. Arrays are env-major [NumEnvs * size].
/// Finished episodes are recorded (RecordEpisodeStatistics-style) and drained with <see cref="DrainEpisodes"/>.
/// </summary>
public sealed class VectorEnv : IVectorEnv
{
    private readonly Env[] _envs;
    private readonly bool[] _ended;
    private readonly double[] _returns;
    private readonly int[] _lengths;
    private readonly List<EpisodeStats> _finished;
    private bool _ready;

    public VectorEnv(string envId, int numEnvs) : this(EnvRegistry.Factory(envId), numEnvs) { }

    public VectorEnv(Func<Env> factory, int numEnvs)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfLessThan(numEnvs, 1);
        _envs = new Env[numEnvs];
        for (int i = 0; i < numEnvs; i++)
        {
            var env = factory() ?? throw new ArgumentException("The env factory returned null.", nameof(factory));
            if (i > 0 && (!env.ObservationSpace.Equals(_envs[0].ObservationSpace) || !env.ActionSpace.Equals(_envs[0].ActionSpace)))
                throw new ArgumentException($"Sub-env {i} ({env.Id}) has different spaces from sub-env 0 ({_envs[0].Id}).", nameof(factory));
            _envs[i] = env;
        }
        _ended = new bool[numEnvs];
        _returns = new double[numEnvs];
        _lengths = new int[numEnvs];
        _finished = new List<EpisodeStats>(numEnvs * 4);
        ObservationSize = _envs[0].ObservationSize;
        ActionSize = _envs[0].ActionSize;
    }

    public int NumEnvs => _envs.Length;
    public string Id => _envs[0].Id;
    public Space SingleObservationSpace => _envs[0].ObservationSpace;
    public Space SingleActionSpace => _envs[0].ActionSpace;
    public int ObservationSize { get; }
    public int ActionSize { get; }

    /// <summary>Read access to a sub-env (e.g. to inspect its state); stepping it directly breaks the bookkeeping.</summary>
    public Env this[int index] => _envs[index];

    /// <summary>Number of finished episodes waiting to be drained.</summary>
    public int PendingEpisodes => _finished.Count;

    /// <summary>Resets every sub-env; with a seed, sub-env i gets seed + i (Gymnasium's rule).</summary>
    public void Reset(ulong? seed, Span<float> observations)
    {
        CheckLength(observations.Length, NumEnvs * ObservationSize, nameof(observations));
        int n = ObservationSize;
        for (int i = 0; i < _envs.Length; i++)
        {
            _envs[i].Reset(seed is ulong s ? s + (ulong)i : null, observations.Slice(i * n, n));
            _ended[i] = false;
            _returns[i] = 0;
            _lengths[i] = 0;
        }
        _ready = true;
    }

    /// <summary>One step of every sub-env. Allocation-free.</summary>
    public void Step(ReadOnlySpan<float> actions, Span<float> observations, Span<float> rewards,
        Span<bool> terminated, Span<bool> truncated, Span<bool> autoreset)
    {
        if (!_ready) throw new InvalidOperationException("Call Reset before Step.");
        int numEnvs = _envs.Length, n = ObservationSize, m = ActionSize;
        CheckLength(actions.Length, numEnvs * m, nameof(actions));
        CheckLength(observations.Length, numEnvs * n, nameof(observations));
        CheckLength(rewards.Length, numEnvs, nameof(rewards));
        CheckLength(terminated.Length, numEnvs, nameof(terminated));
        CheckLength(truncated.Length, numEnvs, nameof(truncated));
        CheckLength(autoreset.Length, numEnvs, nameof(autoreset));

        var envs = _envs;
        var ended = _ended;
        var returns = _returns;
        var lengths = _lengths;
        for (int i = 0; i < envs.Length; i++)
        {
            var obs = observations.Slice(i * n, n);
            if (ended[i])
            {
                envs[i].Reset(null, obs);
                rewards[i] = 0f;
                terminated[i] = false;
                truncated[i] = false;
                autoreset[i] = true;
                ended[i] = false;
                returns[i] = 0;
                lengths[i] = 0;
                continue;
            }

            var outcome = envs[i].Step(actions.Slice(i * m, m), obs);
            rewards[i] = (float)outcome.Reward;
            terminated[i] = outcome.Terminated;
            truncated[i] = outcome.Truncated;
            autoreset[i] = false;
            returns[i] += outcome.Reward;
            lengths[i]++;
            if (outcome.Terminated | outcome.Truncated)
            {
                ended[i] = true;
                _finished.Add(new EpisodeStats(i, returns[i], lengths[i]));
            }
        }
    }

    /// <summary>Moves the finished episodes (oldest first) into <paramref name="into"/>; returns how many.</summary>
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
        return new VectorResetResult(obs, ReadOnlyDictionary<string, object>.Empty);
    }

    /// <summary>
    /// Friendly step. Episodes that finish on this step are reported in the info and removed from the
    /// drain queue (so mixing this with <see cref="DrainEpisodes"/> never reports an episode twice).
    /// </summary>
    public VectorStepResult Step(float[] actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        var obs = new float[NumEnvs * ObservationSize];
        var rewards = new float[NumEnvs];
        var terminated = new bool[NumEnvs];
        var truncated = new bool[NumEnvs];
        var autoreset = new bool[NumEnvs];
        int before = _finished.Count;
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
        return new VectorStepResult(obs, rewards, terminated, truncated, info);
    }

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} must have {expected} elements (NumEnvs x per-env size), got {actual}.", name);
    }
}
