using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Sync;

namespace RLMesh.Core.Runtime;

/// <summary>
/// Steps a vector of environments with a local copy of the policy and emits unrolls of T steps.
/// Between unrolls it asks its <see cref="SyncPolicy"/> whether to take the newest weights from the weight
/// store (<see cref="SyncAsync"/> is the one place that decides). Buffers are allocated once;
/// the only allocation per unroll is the Trajectory handed to the queue.
/// </summary>
public sealed class Actor
{
    private readonly VectorEnv _env;
    private readonly IActorCriticNetwork _net;
    private readonly IInferenceSession _inference;
    private readonly int _unrollLength;
    private readonly string _name;
    private readonly bool _discrete;
    private readonly int _actionSize;
    private readonly float[] _observations, _policyOutputs, _values, _actions, _rewards;
    private readonly bool[] _terminated, _truncated, _autoreset;
    // [n, CoreStateSize]: each env's recurrent state, zeroed when its episode starts; empty for feed-forward nets.
    private readonly float[] _coreState;
    private Rng _rng;
    private long _version = -1;
    private int _unrollsSinceSync;

    public Actor(string name, VectorEnv env, IActorCriticNetwork localNet, int unrollLength, ulong seed)
    {
        _name = name;
        _env = env;
        _net = localNet;
        _inference = localNet.CreateInferenceSession();
        _unrollLength = unrollLength;
        _discrete = env.SingleActionSpace is Discrete;
        _actionSize = env.ActionSize;
        _rng = new Rng(seed);
        int n = env.NumEnvs;
        _observations = new float[n * env.ObservationSize];
        _policyOutputs = new float[n * localNet.PolicyOutputSize];
        _values = new float[n];
        _actions = new float[n * _actionSize];
        _rewards = new float[n];
        _terminated = new bool[n];
        _truncated = new bool[n];
        _autoreset = new bool[n];
        _coreState = new float[n * localNet.CoreStateSize];
        env.Reset(seed, _observations);
    }

    /// <summary>The policy version the local copy holds (-1 before the first pull).</summary>
    public long PolicyVersion => _version;
    public string Name => _name;
    /// <summary>Snapshots loaded into the local copy.</summary>
    public long WeightPulls { get; private set; }
    /// <summary>Bytes of the snapshots loaded (float32 parameters).</summary>
    public long WeightPullBytes { get; private set; }

    /// <summary>When to pull: every unroll (default), every K, or APS.</summary>
    public ISyncPolicy SyncPolicy { get; init; } = new EveryUnrollSync();
    /// <summary>Where APS reads the learner's divergence for this runner and the adaptive tau; required by APS policies.</summary>
    public IDivergenceBoard? DivergenceBoard { get; init; }
    public IRuntimeMetrics Metrics { get; init; } = NullRuntimeMetrics.Instance;

    /// <summary>
    /// Between unrolls: asks the sync policy whether to pull, and pulls if so. Returns true when the local copy
    /// changed. This is the one place the pull decision is made, in embedded and distributed runs alike.
    /// </summary>
    public async ValueTask<bool> SyncAsync(IWeightStore store, CancellationToken cancellationToken)
    {
        long latest = store.LatestVersion;
        DivergenceReading? divergence = null;
        double? threshold = null;
        if (SyncPolicy.NeedsDivergence && latest > _version && _version >= 0)
        {
            var board = DivergenceBoard ?? throw new InvalidOperationException($"{SyncPolicy.Mode} sync needs a divergence board");
            divergence = await board.ReadDivergenceAsync(_name, cancellationToken).ConfigureAwait(false);
            threshold = await board.ReadThresholdAsync(cancellationToken).ConfigureAwait(false);
        }
        var context = new SyncContext(_version, latest, _unrollsSinceSync, divergence, threshold);
        Metrics.SyncDecided(_name, _version, latest, SyncPolicy.Threshold(context));
        return SyncPolicy.ShouldPull(context) && await RefreshWeightsAsync(store, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pulls newer weights if the store has them, whatever the policy. Returns true when the local copy changed.</summary>
    public async ValueTask<bool> RefreshWeightsAsync(IWeightStore store, CancellationToken cancellationToken)
    {
        using var span = Spans.Source.StartActivity(Spans.SnapshotLoad);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = await store.TryGetNewerAsync(_version, cancellationToken).ConfigureAwait(false);
        if (snapshot is null) return false;
        if (snapshot.Network is { } described && !described.SameArchitecture(NetworkDescription.Of(_net.Spec)))
            throw new InvalidOperationException(
                $"{_name}: weights version {snapshot.Version} are for a {described} network, this actor acts with {NetworkDescription.Of(_net.Spec)}");
        _net.Parameters.CopyFrom(snapshot.Values);
        _version = snapshot.Version;
        _unrollsSinceSync = 0;
        long bytes = (long)snapshot.Values.Length * sizeof(float);
        WeightPulls++;
        WeightPullBytes += bytes;
        Metrics.WeightsPulled(_name, bytes, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        return true;
    }

    /// <summary>Runs T steps and returns them as a new trajectory.</summary>
    public Trajectory Unroll()
    {
        int n = _env.NumEnvs, obsSize = _env.ObservationSize, p = _net.PolicyOutputSize;
        int s = _net.CoreStateSize;
        var trajectory = new Trajectory(_unrollLength, n, obsSize, _actionSize, p, s)
        {
            PolicyVersion = _version,
            Source = _name,
        };
        _coreState.CopyTo(trajectory.InitialCoreState, 0);
        for (int t = 0; t < _unrollLength; t++)
        {
            _observations.CopyTo(trajectory.Observations, t * n * obsSize);
            _inference.Evaluate(_observations, n, _coreState, _policyOutputs, _values);
            SampleActions(n, p);
            _policyOutputs.CopyTo(trajectory.BehaviourPolicy, t * n * p);
            _actions.CopyTo(trajectory.Actions, t * n * _actionSize);

            _env.Step(_actions, _observations, _rewards, _terminated, _truncated, _autoreset);

            int row = t * n;
            _rewards.CopyTo(trajectory.Rewards, row);
            _terminated.CopyTo(trajectory.Terminated, row);
            _truncated.CopyTo(trajectory.Truncated, row);
            for (int i = 0; i < n; i++)
                trajectory.Valid[row + i] = !_autoreset[i];
            // An autoreset step's observation starts the next episode: its recurrent state starts from zero.
            if (s > 0)
            {
                for (int i = 0; i < n; i++)
                    if (_autoreset[i]) _coreState.AsSpan(i * s, s).Clear();
            }
        }
        _observations.CopyTo(trajectory.Observations, _unrollLength * n * obsSize);
        _env.DrainEpisodes(trajectory.Episodes);
        _unrollsSinceSync++;
        Metrics.UnrollProduced(_name, trajectory.Frames, trajectory.Episodes);
        return trajectory;
    }

    private void SampleActions(int n, int p)
    {
        if (_discrete)
        {
            for (int i = 0; i < n; i++)
                _actions[i] = Categorical.Sample(_policyOutputs.AsSpan(i * p, p), ref _rng);
            return;
        }
        int d = _actionSize;
        for (int i = 0; i < n; i++)
        {
            var row = _policyOutputs.AsSpan(i * p, p);
            DiagonalGaussian.Sample(row[..d], row[d..], ref _rng, _actions.AsSpan(i * d, d));
        }
    }

    /// <summary>The actor loop: sync (per policy), unroll, enqueue, until cancelled.</summary>
    public async Task RunAsync(ITrajectoryQueue queue, IWeightStore store, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await SyncAsync(store, cancellationToken).ConfigureAwait(false);
            var trajectory = Unroll();
            await queue.EnqueueAsync(trajectory, cancellationToken).ConfigureAwait(false);
        }
    }
}
