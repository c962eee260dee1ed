namespace RLMesh.Core.Envs;

/// <summary>
/// Gymnasium Pendulum-v1. The state is (theta, theta_dot) with theta unwrapped; the observation is
/// (cos, sin, theta_dot). Never terminates: the 200-step time limit truncates every episode.
/// </summary>
public sealed class Pendulum : Env
{
    private const double MaxSpeed = 8;
    private const float MaxTorque = 2.0f;
    private const double Dt = 0.05;
    private const double G = 10.0;
    private const double M = 1.0;
    private const double L = 1.0;

    private double _theta, _thetaDot;

    public Pendulum() : base(CreateSpec()) { }

    public static EnvSpec CreateSpec()
        => new("Pendulum-v1", 200, null,
            new Box([-1f, -1f, -(float)MaxSpeed], [1f, 1f, (float)MaxSpeed], [3]),
            new Box(-MaxTorque, MaxTorque, 1));

    public override int StateSize => 2;
    protected override string StateDescription => "theta, theta_dot";

    protected override void ResetCore(ref Rng rng)
    {
        _theta = rng.Uniform(-Math.PI, Math.PI);
        _thetaDot = rng.Uniform(-1.0, 1.0);
    }

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        float a = action[0];
        CheckContinuousAction(a);
        // np.clip keeps float32; NumPy 1.x then evaluates u**2 and 3.0*u in float64.
        double u = Math.Clamp(a, -MaxTorque, MaxTorque);
        double th = _theta, thDot = _thetaDot;

        // The cost uses the state before the step, with theta normalised only here.
        double normalized = AngleNormalize(th);
        // float64 **2 in NumPy is libm pow, not always equal to x*x; u is float32 so u*u is exact either way.
        double cost = Math.Pow(normalized, 2) + 0.1 * Math.Pow(thDot, 2) + 0.001 * (u * u);

        double newThDot = thDot + (3 * G / (2 * L) * Math.Sin(th) + 3.0 / (M * (L * L)) * u) * Dt;
        newThDot = Math.Clamp(newThDot, -MaxSpeed, MaxSpeed);
        _theta = th + newThDot * Dt;
        _thetaDot = newThDot;

        WriteObservation(observation);
        return new StepOutcome(-cost, false, false);
    }

    /// <summary>((x + pi) mod 2pi) - pi with Python's floored modulo.</summary>
    internal static double AngleNormalize(double x) => PyMod(x + Math.PI, 2 * Math.PI) - Math.PI;

    /// <summary>NumPy's float remainder: fmod, then shifted so the result takes the divisor's sign.</summary>
    internal static double PyMod(double a, double b)
    {
        double mod = a % b; // C# % on doubles is C fmod
        if (mod != 0)
        {
            if ((b < 0) != (mod < 0)) mod += b;
        }
        else
        {
            mod = Math.CopySign(0.0, b);
        }
        return mod;
    }

    protected override void SetStateCore(ReadOnlySpan<double> state)
    {
        _theta = state[0];
        _thetaDot = state[1];
    }

    protected override void GetStateCore(Span<double> state)
    {
        state[0] = _theta;
        state[1] = _thetaDot;
    }

    protected override void WriteObservation(Span<float> observation)
    {
        observation[2] = (float)_thetaDot;
        observation[0] = (float)Math.Cos(_theta);
        observation[1] = (float)Math.Sin(_theta);
    }
}
