namespace RLMesh.Core.Envs;

/// <summary>Gymnasium MountainCar-v0: discrete push left / none / right, float64 state throughout.</summary>
public sealed class MountainCar : Env
{
    internal const double MinPosition = -1.2;
    internal const double MaxPosition = 0.6;
    internal const double MaxSpeed = 0.07;
    internal const double GoalPosition = 0.5;
    internal const double GoalVelocity = 0.0;
    internal const double Force = 0.001;
    internal const double Gravity = 0.0025;

    private double _position, _velocity;

    public MountainCar() : base(CreateSpec()) { }

    public static EnvSpec CreateSpec()
        => new("MountainCar-v0", 200, -110f,
            new Box([(float)MinPosition, (float)-MaxSpeed], [(float)MaxPosition, (float)MaxSpeed], [2]),
            new Discrete(3));

    public override int StateSize => 2;
    protected override string StateDescription => "position, velocity";

    protected override void ResetCore(ref Rng rng)
    {
        _position = rng.Uniform(-0.6, -0.4);
        _velocity = 0;
    }

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        int a = DiscreteAction(action[0], 3);
        double position = _position;
        double velocity = _velocity + ((a - 1) * Force + Math.Cos(3 * position) * -Gravity);
        velocity = Math.Clamp(velocity, -MaxSpeed, MaxSpeed);
        position = Math.Clamp(position + velocity, MinPosition, MaxPosition);
        // The left wall is inelastic.
        if (position == MinPosition && velocity < 0) velocity = 0;
        _position = position;
        _velocity = velocity;
        bool terminated = position >= GoalPosition && velocity >= GoalVelocity;
        WriteObservation(observation);
        return new StepOutcome(-1.0, terminated, false);
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
