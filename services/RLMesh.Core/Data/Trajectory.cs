namespace RLMesh.Core.Data;

/// <summary>Statistics of one finished episode.</summary>
public readonly record struct EpisodeStats(int EnvIndex, double Return, int Length);

/// <summary>
/// One unroll inside a batch: <see cref="Envs"/> consecutive columns produced by <see cref="Source"/> with policy
/// <see cref="PolicyVersion"/>. Lets a learner that receives a concatenated batch (distributed mode) attribute
/// per-column figures (policy lag, APS divergence) to runners.
/// </summary>
public readonly record struct BatchSegment(string Source, int Envs, long PolicyVersion);

/// <summary>
/// T steps of B environments, time-major and structure-of-arrays, exactly as the learner consumes it.
/// An actor's unroll is a Trajectory over its own envs; a learner batch is several unrolls concatenated
/// along B (<see cref="Concatenate"/>). Step t's transition is (obs[t], action[t]) -> (reward[t], obs[t+1]),
/// so Observations has T+1 rows: the last row is the bootstrap observation, and it is the first row of the
/// actor's next unroll.
/// Environments follow Gymnasium 1.x next-step autoreset: the step after an episode ends ignores its action
/// and resets. Such a step is not a real transition; <see cref="Valid"/> is false there and the learner
/// masks it (no loss, discount zero), which also lets a truncated episode bootstrap from its true final
/// observation.
/// </summary>
public sealed class Trajectory
{
    public Trajectory(int steps, int envs, int observationSize, int actionSize, int policyOutputSize, int coreStateSize = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(coreStateSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(envs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(observationSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(actionSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(policyOutputSize, 1);
        Steps = steps;
        Envs = envs;
        ObservationSize = observationSize;
        ActionSize = actionSize;
        PolicyOutputSize = policyOutputSize;
        Observations = new float[(steps + 1) * envs * observationSize];
        Actions = new float[steps * envs * actionSize];
        Rewards = new float[steps * envs];
        Terminated = new bool[steps * envs];
        Truncated = new bool[steps * envs];
        Valid = new bool[steps * envs];
        BehaviourPolicy = new float[steps * envs * policyOutputSize];
        CoreStateSize = coreStateSize;
        InitialCoreState = coreStateSize == 0 ? [] : new float[envs * coreStateSize];
    }

    /// <summary>T, the unroll length.</summary>
    public int Steps { get; }
    /// <summary>B, the number of environment columns.</summary>
    public int Envs { get; }
    public int ObservationSize { get; }
    /// <summary>1 for Discrete (the index, stored as a float), the Box dimension for continuous actions.</summary>
    public int ActionSize { get; }
    /// <summary>Logits (categorical) or mean then log-std (Gaussian) per step.</summary>
    public int PolicyOutputSize { get; }

    /// <summary>[T+1, B, ObservationSize].</summary>
    public float[] Observations { get; }
    /// <summary>[T, B, ActionSize].</summary>
    public float[] Actions { get; }
    /// <summary>[T, B], raw (unclipped) environment rewards.</summary>
    public float[] Rewards { get; }
    /// <summary>[T, B]: the episode ended at this step by reaching a terminal state (no bootstrap).</summary>
    public bool[] Terminated { get; }
    /// <summary>[T, B]: the episode was cut by its time limit at this step (bootstrap from obs[t+1]).</summary>
    public bool[] Truncated { get; }
    /// <summary>[T, B]: false on next-step autoreset steps, which are not real transitions.</summary>
    public bool[] Valid { get; }
    /// <summary>[T, B, PolicyOutputSize]: the behaviour policy's outputs for the taken step.</summary>
    public float[] BehaviourPolicy { get; }
    /// <summary>Floats of recurrent (LSTM) state per column; 0 for a feed-forward policy.</summary>
    public int CoreStateSize { get; }
    /// <summary>
    /// [B, CoreStateSize]: each column's recurrent state before step 0 (the state the actor's core held when it acted on
    /// obs[0]), so the learner replays the unroll from it. Empty for a feed-forward policy.
    /// </summary>
    public float[] InitialCoreState { get; }

    /// <summary>
    /// Writes the [T+1, B] episode-start flags a recurrent network resets its state at: row t starts an episode when
    /// step t-1 was an autoreset step (its observation is a reset observation). Row 0 never does: an actor zeroes the
    /// state of a column whose episode starts there before recording <see cref="InitialCoreState"/>.
    /// </summary>
    public void EpisodeStarts(Span<bool> rows)
    {
        int cells = Steps * Envs;
        if (rows.Length < cells + Envs) throw new ArgumentException($"Need {cells + Envs} flags.", nameof(rows));
        rows[..Envs].Clear();
        for (int i = 0; i < cells; i++) rows[Envs + i] = !Valid[i];
    }

    /// <summary>The policy version that produced this data (for a batch: the oldest one in it).</summary>
    public long PolicyVersion { get; set; }
    /// <summary>Who produced it (actor or runner id); for a batch, empty.</summary>
    public string Source { get; set; } = "";
    /// <summary>Episodes that finished during these steps.</summary>
    public List<EpisodeStats> Episodes { get; } = [];
    /// <summary>For a batch: the unrolls it is made of, in column order (empty for a single unroll).</summary>
    public List<BatchSegment> Segments { get; } = [];

    /// <summary><see cref="Segments"/>, or this trajectory as its own single segment.</summary>
    public IEnumerable<BatchSegment> SegmentsOrSelf() =>
        Segments.Count > 0 ? Segments : [new BatchSegment(Source, Envs, PolicyVersion)];

    /// <summary>Environment frames in this trajectory (T * B).</summary>
    public int Frames => Steps * Envs;

    /// <summary>Concatenates same-shaped trajectories along B into a new batch.</summary>
    public static Trajectory Concatenate(IReadOnlyList<Trajectory> parts)
    {
        ArgumentOutOfRangeException.ThrowIfZero(parts.Count);
        var first = parts[0];
        int envs = 0;
        long version = long.MaxValue;
        foreach (var p in parts)
        {
            if (p.Steps != first.Steps || p.ObservationSize != first.ObservationSize
                || p.ActionSize != first.ActionSize || p.PolicyOutputSize != first.PolicyOutputSize
                || p.CoreStateSize != first.CoreStateSize)
                throw new ArgumentException("Trajectories to concatenate must share T and per-step sizes.");
            envs += p.Envs;
            version = Math.Min(version, p.PolicyVersion);
        }

        var batch = new Trajectory(first.Steps, envs, first.ObservationSize, first.ActionSize, first.PolicyOutputSize, first.CoreStateSize)
        {
            PolicyVersion = version,
        };
        int column = 0;
        foreach (var p in parts)
        {
            CopyColumns(p.Observations, batch.Observations, first.Steps + 1, p.Envs, envs, column, p.ObservationSize);
            CopyColumns(p.Actions, batch.Actions, first.Steps, p.Envs, envs, column, p.ActionSize);
            CopyColumns(p.Rewards, batch.Rewards, first.Steps, p.Envs, envs, column, 1);
            CopyColumns(p.Terminated, batch.Terminated, first.Steps, p.Envs, envs, column, 1);
            CopyColumns(p.Truncated, batch.Truncated, first.Steps, p.Envs, envs, column, 1);
            CopyColumns(p.Valid, batch.Valid, first.Steps, p.Envs, envs, column, 1);
            CopyColumns(p.BehaviourPolicy, batch.BehaviourPolicy, first.Steps, p.Envs, envs, column, p.PolicyOutputSize);
            p.InitialCoreState.CopyTo(batch.InitialCoreState, column * first.CoreStateSize);
            foreach (var e in p.Episodes)
                batch.Episodes.Add(e with { EnvIndex = e.EnvIndex + column });
            batch.Segments.AddRange(p.SegmentsOrSelf());
            column += p.Envs;
        }
        return batch;
    }

    private static void CopyColumns<T>(T[] source, T[] target, int rows, int sourceEnvs, int targetEnvs, int column, int width)
    {
        for (int t = 0; t < rows; t++)
        {
            source.AsSpan(t * sourceEnvs * width, sourceEnvs * width)
                .CopyTo(target.AsSpan((t * targetEnvs + column) * width));
        }
    }
}
