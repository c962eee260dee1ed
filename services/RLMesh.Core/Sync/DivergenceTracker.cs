using RLMesh.Core.Data;

namespace RLMesh.Core.Sync;

/// <summary>
/// Learner side of APS: keeps a moving value of KL(behaviour || current) per runner from the per-column KL sums
/// the loss already computes (a batch is several unrolls side by side along B; each unroll's columns belong to
/// its <see cref="Trajectory.Source"/>). The moving value restarts when a runner's unrolls come from a newer policy
/// version (the runner pulled: old measurements no longer describe its policy) and ignores unrolls older than
/// the version it tracks. Single-threaded: the learner loop owns it. Allocates only when a new runner appears.
/// </summary>
public sealed class DivergenceTracker
{
    private readonly Dictionary<string, State> _runners = new(StringComparer.Ordinal);
    private readonly List<string> _touched = [];

    /// <param name="smoothing">Weight of the newest unroll in the moving value (1 = last unroll only).</param>
    public DivergenceTracker(double smoothing = 0.5)
    {
        if (!(smoothing > 0 && smoothing <= 1)) throw new ArgumentOutOfRangeException(nameof(smoothing), "smoothing must be in (0, 1]");
        Smoothing = smoothing;
    }

    public double Smoothing { get; }

    /// <summary>Runners whose value changed in the last <see cref="Observe"/>.</summary>
    public IReadOnlyList<string> Touched => _touched;

    /// <summary>
    /// Folds one trained batch in. <paramref name="parts"/> are the unrolls in batch column order;
    /// <paramref name="columnKlSums"/> and <paramref name="columnValidSteps"/> are the loss's per-column figures.
    /// </summary>
    public void Observe(IReadOnlyList<Trajectory> parts, ReadOnlySpan<double> columnKlSums, ReadOnlySpan<int> columnValidSteps, long learnerVersion)
    {
        _segments.Clear();
        foreach (var part in parts) _segments.AddRange(part.SegmentsOrSelf());
        Observe(_segments, columnKlSums, columnValidSteps, learnerVersion);
    }

    private readonly List<BatchSegment> _segments = [];

    /// <summary>Folds one trained batch in, given the unrolls it is made of as <see cref="BatchSegment"/>s in column order.</summary>
    public void Observe(IReadOnlyList<BatchSegment> segments, ReadOnlySpan<double> columnKlSums, ReadOnlySpan<int> columnValidSteps, long learnerVersion)
    {
        _touched.Clear();
        int column = 0;
        foreach (var part in segments)
        {
            double kl = 0;
            int valid = 0;
            for (int b = column; b < column + part.Envs && b < columnKlSums.Length; b++)
            {
                kl += columnKlSums[b];
                valid += columnValidSteps[b];
            }
            column += part.Envs;
            if (valid == 0 || part.Source.Length == 0) continue; // no steps, or nobody to attribute them to
            Observe(part.Source, part.PolicyVersion, kl / valid, learnerVersion);
        }
    }

    /// <summary>Folds one unroll's mean KL in.</summary>
    public void Observe(string runner, long behaviourVersion, double meanKl, long learnerVersion)
    {
        if (!_runners.TryGetValue(runner, out var state))
        {
            _runners[runner] = state = new State { BehaviourVersion = behaviourVersion, Value = meanKl };
        }
        else if (behaviourVersion > state.BehaviourVersion)
        {
            state.BehaviourVersion = behaviourVersion;
            state.Value = meanKl;
        }
        else if (behaviourVersion == state.BehaviourVersion)
        {
            state.Value += Smoothing * (meanKl - state.Value);
        }
        else
        {
            return; // an unroll from before the runner's last pull: it says nothing about its policy now
        }
        state.LearnerVersion = learnerVersion;
        if (!_touched.Contains(runner)) _touched.Add(runner);
    }

    public bool TryGet(string runner, out DivergenceReading reading)
    {
        if (_runners.TryGetValue(runner, out var state))
        {
            reading = new DivergenceReading(state.Value, state.BehaviourVersion, state.LearnerVersion);
            return true;
        }
        reading = default;
        return false;
    }

    private sealed class State
    {
        public double Value;
        public long BehaviourVersion;
        public long LearnerVersion;
    }
}
