using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace RLMesh.Core.Envs;

/// <summary>What one step returned besides the observation.</summary>
public readonly record struct StepOutcome(double Reward, bool Terminated, bool Truncated);

public sealed record ResetResult(float[] Observation, IReadOnlyDictionary<string, object> Info);

public sealed record StepResult(float[] Observation, double Reward, bool Terminated, bool Truncated, IReadOnlyDictionary<string, object> Info);

/// <summary>
/// One environment, already wrapped in its registry time limit (like <c>gymnasium.make</c>).
/// The span API is the allocation-free core; the array-returning overloads are conveniences on top of it.
/// Subclasses implement the physics in <see cref="StepCore"/>; that is the only virtual call per step.
/// </summary>
public abstract class Env
{
    private static readonly IReadOnlyDictionary<string, object> EmptyInfo = ReadOnlyDictionary<string, object>.Empty;

    private Rng _rng;
    private int _elapsedSteps;
    private bool _ready;

    protected Env(EnvSpec spec)
    {
        Spec = spec;
        ObservationSize = spec.ObservationSpace.Size;
        ActionSize = spec.ActionSpace.Size;
        // Like Gymnasium's unseeded np_random: entropy until the first seeded reset.
        _rng = new Rng(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
    }

    public EnvSpec Spec { get; }
    public string Id => Spec.Id;
    public Space ObservationSpace => Spec.ObservationSpace;
    public Space ActionSpace => Spec.ActionSpace;
    public int ObservationSize { get; }
    /// <summary>Floats per action: 1 for Discrete, the Box size for continuous envs.</summary>
    public int ActionSize { get; }
    /// <summary>The registry's TimeLimit; the env reports truncation on this step itself.</summary>
    public int MaxEpisodeSteps => Spec.MaxEpisodeSteps;
    public float? RewardThreshold => Spec.RewardThreshold;

    /// <summary>Steps since the last reset or <see cref="SetState"/>.</summary>
    public int ElapsedSteps => _elapsedSteps;

    /// <summary>Number of doubles in the internal state (see the reference README's <c>initial_state</c>).</summary>
    public abstract int StateSize { get; }

    /// <summary>The env's random stream (reset distribution).</summary>
    protected ref Rng Random => ref _rng;

    /// <summary>Starts an episode. A seed re-seeds the env's stream; null continues it.</summary>
    public void Reset(ulong? seed, Span<float> observation)
    {
        CheckObservationLength(observation);
        if (seed is ulong s)
        {
            _rng = new Rng(s);
            OnSeed(s);
        }
        ResetCore(ref _rng);
        _elapsedSteps = 0;
        _ready = true;
        WriteObservation(observation);
    }

    /// <summary>
    /// Advances one step. Discrete actions arrive as one float holding the index; invalid ones throw
    /// <see cref="ArgumentOutOfRangeException"/>. Continuous actions are clipped as Gymnasium does, NaN throws.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StepOutcome Step(ReadOnlySpan<float> action, Span<float> observation)
    {
        if (!_ready) ThrowNotReset();
        if (action.Length != ActionSize) ThrowActionLength(action.Length);
        if (observation.Length != ObservationSize) ThrowObservationLength(observation.Length);
        var outcome = StepCore(action, observation);
        // TimeLimit: truncated on the max_episode_steps-th step, possibly together with terminated.
        if (++_elapsedSteps >= Spec.MaxEpisodeSteps) outcome = new StepOutcome(outcome.Reward, outcome.Terminated, true);
        return outcome;
    }

    public ResetResult Reset(ulong? seed = null)
    {
        var obs = new float[ObservationSize];
        Reset(seed, obs);
        return new ResetResult(obs, EmptyInfo);
    }

    public StepResult Step(int action)
    {
        if (ActionSpace is not Discrete)
            throw new InvalidOperationException($"{Id} has a continuous action space {ActionSpace}; pass a float[] action.");
        return Step([(float)action]);
    }

    public StepResult Step(float[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var obs = new float[ObservationSize];
        var o = Step(action, obs);
        return new StepResult(obs, o.Reward, o.Terminated, o.Truncated, EmptyInfo);
    }

    /// <summary>
    /// Installs an internal state exactly as the reference README defines <c>initial_state</c> and restarts the
    /// time limit, as if reset had sampled it.
    /// </summary>
    public void SetState(ReadOnlySpan<double> state)
    {
        if (state.Length != StateSize)
            throw new ArgumentException($"{Id} has a state of {StateSize} values ({StateDescription}), got {state.Length}.", nameof(state));
        SetStateCore(state);
        _elapsedSteps = 0;
        _ready = true;
    }

    /// <summary>Copies the internal state (float64, as the env holds it).</summary>
    public void GetState(Span<double> state)
    {
        if (state.Length != StateSize)
            throw new ArgumentException($"{Id} has a state of {StateSize} values ({StateDescription}), got a span of {state.Length}.", nameof(state));
        GetStateCore(state);
    }

    public double[] GetState()
    {
        var s = new double[StateSize];
        GetStateCore(s);
        return s;
    }

    /// <summary>The observation of the current state, as reset and step would return it.</summary>
    public void GetObservation(Span<float> observation)
    {
        CheckObservationLength(observation);
        WriteObservation(observation);
    }

    /// <summary>Human-readable state layout for error messages, e.g. "x, x_dot, theta, theta_dot".</summary>
    protected abstract string StateDescription { get; }

    /// <summary>Called by a seeded reset before <see cref="ResetCore"/>, for envs that keep their own random stream.</summary>
    protected virtual void OnSeed(ulong seed) { }

    /// <summary>Samples the reset state from Gymnasium's documented distribution.</summary>
    protected abstract void ResetCore(ref Rng rng);

    /// <summary>Physics, reward and termination; the observation span is already length-checked.</summary>
    protected abstract StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation);

    protected abstract void SetStateCore(ReadOnlySpan<double> state);

    protected abstract void GetStateCore(Span<double> state);

    /// <summary>Writes the observation of the current state; the span has exactly ObservationSize floats.</summary>
    protected abstract void WriteObservation(Span<float> observation);

    /// <summary>Validates a Discrete action and returns its index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected int DiscreteAction(float action, int n)
    {
        int index = (int)action;
        // The float must be an exact integer in range; NaN fails the range check.
        if (!(action >= 0 && action < n) || index != action) ThrowBadDiscreteAction(action, n);
        return index;
    }

    /// <summary>Validates a continuous action component: only NaN is an error, range is the env's business.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void CheckContinuousAction(float action)
    {
        if (float.IsNaN(action)) ThrowNaNAction();
    }

    private void CheckObservationLength(Span<float> observation)
    {
        if (observation.Length != ObservationSize) ThrowObservationLength(observation.Length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotReset()
        => throw new InvalidOperationException($"{Id}: call Reset (or SetState) before Step.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowActionLength(int length)
        => throw new ArgumentException($"{Id} expects an action of {ActionSize} float(s) for {ActionSpace}, got {length}.", "action");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowObservationLength(int length)
        => throw new ArgumentException($"{Id} writes observations of {ObservationSize} floats, got a span of {length}.", "observation");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadDiscreteAction(float action, int n)
        => throw new ArgumentOutOfRangeException("action", action,
            $"{Id}: action {action.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not in {ActionSpace}; expected an integer 0..{n - 1}.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNaNAction()
        => throw new ArgumentOutOfRangeException("action", float.NaN, $"{Id}: action is NaN; {ActionSpace} actions must be numbers (out-of-range values are clipped, NaN is not).");
}
