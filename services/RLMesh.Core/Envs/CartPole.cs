namespace RLMesh.Core.Envs;

/// <summary>
/// Gymnasium CartPole-v1: explicit Euler, tau 0.02, float64 state, float32 observation = state.
/// Operation order follows Gymnasium's expressions so results are bit-identical.
/// </summary>
public sealed class CartPole : Env
{
    private const double Gravity = 9.8;
    private const double MassCart = 1.0;
    private const double MassPole = 0.1;
    private const double TotalMass = MassPole + MassCart; // 1.1 in float64, as Gymnasium computes it
    private const double Length = 0.5;
    private const double PoleMassLength = MassPole * Length;
    private const double ForceMag = 10.0;
    private const double Tau = 0.02;
    private const double FourThirds = 4.0 / 3.0;
    private const double ThetaThreshold = 12 * 2 * Math.PI / 360; // 0.20943951023931953
    private const double XThreshold = 2.4;

    private double _x, _xDot, _theta, _thetaDot;
    // Gymnasium gives reward 0 for steps taken after termination.
    private bool _terminated;

    public CartPole() : base(CreateSpec()) { }

    public static EnvSpec CreateSpec()
    {
        float[] high = [(float)(XThreshold * 2), float.PositiveInfinity, (float)(ThetaThreshold * 2), float.PositiveInfinity];
        float[] low = [-high[0], float.NegativeInfinity, -high[2], float.NegativeInfinity];
        return new EnvSpec("CartPole-v1", 500, 475f, new Box(low, high, [4]), new Discrete(2));
    }

    public override int StateSize => 4;
    protected override string StateDescription => "x, x_dot, theta, theta_dot";

    protected override void ResetCore(ref Rng rng)
    {
        _x = rng.Uniform(-0.05, 0.05);
        _xDot = rng.Uniform(-0.05, 0.05);
        _theta = rng.Uniform(-0.05, 0.05);
        _thetaDot = rng.Uniform(-0.05, 0.05);
        _terminated = false;
    }

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        float a = action[0];
        double force;
        if (a == 1f) force = ForceMag;
        else if (a == 0f) force = -ForceMag;
        else { DiscreteAction(a, 2); force = 0; }

        double theta = _theta, thetaDot = _thetaDot;
        // glibc's sincos returns exactly sin() and cos(), in one call.
        var (sin, cos) = Math.SinCos(theta);
        double temp = (force + PoleMassLength * (thetaDot * thetaDot) * sin) / TotalMass;
        double thetaAcc = (Gravity * sin - cos * temp) / (Length * (FourThirds - MassPole * (cos * cos) / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cos / TotalMass;

        double x = _x + Tau * _xDot;
        double xDot = _xDot + Tau * xAcc;
        theta += Tau * thetaDot;
        thetaDot += Tau * thetaAcc;
        _x = x; _xDot = xDot; _theta = theta; _thetaDot = thetaDot;

        observation[3] = (float)thetaDot;
        observation[2] = (float)theta;
        observation[1] = (float)xDot;
        observation[0] = (float)x;

        bool terminated = x < -XThreshold || x > XThreshold || theta < -ThetaThreshold || theta > ThetaThreshold;
        double reward = _terminated ? 0.0 : 1.0;
        _terminated |= terminated;
        return new StepOutcome(reward, terminated, false);
    }

    protected override void SetStateCore(ReadOnlySpan<double> state)
    {
        _x = state[0]; _xDot = state[1]; _theta = state[2]; _thetaDot = state[3];
        _terminated = false;
    }

    protected override void GetStateCore(Span<double> state)
    {
        state[0] = _x; state[1] = _xDot; state[2] = _theta; state[3] = _thetaDot;
    }

    protected override void WriteObservation(Span<float> observation)
    {
        observation[3] = (float)_thetaDot;
        observation[2] = (float)_theta;
        observation[1] = (float)_xDot;
        observation[0] = (float)_x;
    }
}
