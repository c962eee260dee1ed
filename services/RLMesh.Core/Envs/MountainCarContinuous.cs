namespace RLMesh.Core.Envs;

/// <summary>
/// Gymnasium MountainCarContinuous-v0. Reset gives a float64 state, but every step stores the state as
/// float32, so later steps start from rounded values. The force is clipped to [-1, 1]; the action penalty
/// uses the unclipped action.
/// </summary>
public sealed class MountainCarContinuous : Env
{
    private const double MinAction = -1.0;
    private const double MaxAction = 1.0;
    private const double MinPosition = -1.2;
    private const double MaxPosition = 0.6;
    private const double MaxSpeed = 0.07;
    private const double GoalPosition = 0.45;
    private const double GoalVelocity = 0.0;
    private const double Power = 0.0015;

    private double _position, _velocity;

    public MountainCarContinuous() : base(CreateSpec()) { }

    public static EnvSpec CreateSpec()
        => new("MountainCarContinuous-v0", 999, 90f,
            new Box([(float)MinPosition, (float)-MaxSpeed], [(float)MaxPosition, (float)MaxSpeed], [2]),
            new Box((float)MinAction, (float)MaxAction, 1));

    public override int StateSize => 2;
    protected override string StateDescription => "position, velocity";

    protected override void ResetCore(ref Rng rng)
    {
        _position = rng.Uniform(-0.6, -0.4);
        _velocity = 0;
    }

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        double a = action[0];
        CheckContinuousAction(action[0]);
        double force = Math.Min(Math.Max(a, MinAction), MaxAction);
        double position = _position;
        double velocity = _velocity + (force * Power - 0.0025 * Math.Cos(3 * position));
        if (velocity > MaxSpeed) velocity = MaxSpeed;
        if (velocity < -MaxSpeed) velocity = -MaxSpeed;
        position += velocity;
        if (position > MaxPosition) position = MaxPosition;
        if (position < MinPosition) position = MinPosition;
        if (position == MinPosition && velocity < 0) velocity = 0;

        // Termination and reward see the float64 values; only the stored state is rounded.
        bool terminated = position >= GoalPosition && velocity >= GoalVelocity;
        double reward = terminated ? 100.0 : 0.0;
        reward -= a * a * 0.1;

        _position = (float)position;
        _velocity = (float)velocity;
        WriteObservation(observation);
        return new StepOutcome(reward, terminated, false);
    }

    protected override void SetStateCore(ReadOnlySpan<double> state)
    {
        _position = state[0];
        _velocity = state[1];
    }

    protected override void GetStateCore(Span<double> state)
    {
        state[0] = _position;
        state[1] = _velocity;
    }

    protected override void WriteObservation(Span<float> observation)
    {
        observation[1] = (float)_velocity;
        observation[0] = (float)_position;
    }
}
