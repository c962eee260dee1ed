namespace RLMesh.Core.Envs;

/// <summary>
/// Gymnasium Acrobot-v1 with the "book" dynamics: one RK4 step of dt 0.2 on (state, torque), angles wrapped
/// into [-pi, pi], velocities bounded to ±4pi and ±9pi. torque_noise_max is 0, so the env is deterministic.
/// </summary>
public sealed class Acrobot : Env
{
    private const double Dt = 0.2;
    private const double L1 = 1.0;          // LINK_LENGTH_1
    private const double M1 = 1.0, M2 = 1.0; // LINK_MASS_*
    private const double Lc1 = 0.5, Lc2 = 0.5; // LINK_COM_POS_*
    private const double I1 = 1.0, I2 = 1.0;   // LINK_MOI
    private const double G = 9.8;
    private const double MaxVel1 = 4 * Math.PI;
    private const double MaxVel2 = 9 * Math.PI;

    private double _theta1, _theta2, _dtheta1, _dtheta2;

    public Acrobot() : base(CreateSpec()) { }

    public static EnvSpec CreateSpec()
    {
        float[] high = [1f, 1f, 1f, 1f, (float)MaxVel1, (float)MaxVel2];
        float[] low = Array.ConvertAll(high, h => -h);
        return new EnvSpec("Acrobot-v1", 500, -100f, new Box(low, high, [6]), new Discrete(3));
    }

    public override int StateSize => 4;
    protected override string StateDescription => "theta1, theta2, dtheta1, dtheta2";

    protected override void ResetCore(ref Rng rng)
    {
        // Gymnasium stores the reset state as float32.
        _theta1 = (float)rng.Uniform(-0.1, 0.1);
        _theta2 = (float)rng.Uniform(-0.1, 0.1);
        _dtheta1 = (float)rng.Uniform(-0.1, 0.1);
        _dtheta2 = (float)rng.Uniform(-0.1, 0.1);
    }

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        double torque = DiscreteAction(action[0], 3) - 1.0; // AVAIL_TORQUE = [-1, 0, +1]

        // rk4 over t = [0, dt]; the torque component has derivative 0 and stays constant.
        double s0 = _theta1, s1 = _theta2, s2 = _dtheta1, s3 = _dtheta2;
        const double dt2 = Dt / 2.0;
        Derivs(s0, s1, s2, s3, torque, out double k1a, out double k1b, out double k1c, out double k1d);
        Derivs(s0 + dt2 * k1a, s1 + dt2 * k1b, s2 + dt2 * k1c, s3 + dt2 * k1d, torque,
            out double k2a, out double k2b, out double k2c, out double k2d);
        Derivs(s0 + dt2 * k2a, s1 + dt2 * k2b, s2 + dt2 * k2c, s3 + dt2 * k2d, torque,
            out double k3a, out double k3b, out double k3c, out double k3d);
        Derivs(s0 + Dt * k3a, s1 + Dt * k3b, s2 + Dt * k3c, s3 + Dt * k3d, torque,
            out double k4a, out double k4b, out double k4c, out double k4d);
        const double dt6 = Dt / 6.0;
        double n0 = s0 + dt6 * (k1a + 2 * k2a + 2 * k3a + k4a);
        double n1 = s1 + dt6 * (k1b + 2 * k2b + 2 * k3b + k4b);
        double n2 = s2 + dt6 * (k1c + 2 * k2c + 2 * k3c + k4c);
        double n3 = s3 + dt6 * (k1d + 2 * k2d + 2 * k3d + k4d);

        _theta1 = Wrap(n0);
        _theta2 = Wrap(n1);
        _dtheta1 = Math.Min(Math.Max(n2, -MaxVel1), MaxVel1);
        _dtheta2 = Math.Min(Math.Max(n3, -MaxVel2), MaxVel2);

        bool terminated = -Math.Cos(_theta1) - Math.Cos(_theta2 + _theta1) > 1.0;
        WriteObservation(observation);
        return new StepOutcome(terminated ? 0.0 : -1.0, terminated, false);
    }

    /// <summary>Gymnasium's _dsdt ("book" branch), with its exact operation order.</summary>
    private static void Derivs(double theta1, double theta2, double dtheta1, double dtheta2, double a,
        out double d_theta1, out double d_theta2, out double ddtheta1, out double ddtheta2)
    {
        double cos2 = Math.Cos(theta2);
        double sin2 = Math.Sin(theta2);
        double d1 = M1 * (Lc1 * Lc1) + M2 * (L1 * L1 + Lc2 * Lc2 + 2 * L1 * Lc2 * cos2) + I1 + I2;
        double d2 = M2 * (Lc2 * Lc2 + L1 * Lc2 * cos2) + I2;
        double phi2 = M2 * Lc2 * G * Math.Cos(theta1 + theta2 - Math.PI / 2.0);
        double phi1 = -M2 * L1 * Lc2 * Square(dtheta2) * sin2
                      - 2 * M2 * L1 * Lc2 * dtheta2 * dtheta1 * sin2
                      + (M1 * Lc1 + M2 * L1) * G * Math.Cos(theta1 - Math.PI / 2)
                      + phi2;
        ddtheta2 = (a + d2 / d1 * phi1 - M2 * L1 * Lc2 * Square(dtheta1) * sin2 - phi2)
                   / (M2 * (Lc2 * Lc2) + I2 - Square(d2) / d1);
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        d_theta1 = dtheta1;
        d_theta2 = dtheta2;
    }

    /// <summary>
    /// NumPy evaluates float64 <c>x**2</c> with libm pow, which is not always the correctly rounded x*x
    /// (about 1 in 1000 values differs by an ulp); Math.Pow calls the same libm pow.
    /// </summary>
    private static double Square(double x) => Math.Pow(x, 2);

    private static double Wrap(double x)
    {
        const double diff = Math.PI - -Math.PI;
        while (x > Math.PI) x -= diff;
        while (x < -Math.PI) x += diff;
        return x;
    }

    protected override void SetStateCore(ReadOnlySpan<double> state)
    {
        // Reset-time states are float32 in Gymnasium; installing them rounded matches env.unwrapped.state = float32 array.
        _theta1 = (float)state[0];
        _theta2 = (float)state[1];
        _dtheta1 = (float)state[2];
        _dtheta2 = (float)state[3];
    }

    protected override void GetStateCore(Span<double> state)
    {
        state[0] = _theta1; state[1] = _theta2; state[2] = _dtheta1; state[3] = _dtheta2;
    }

    protected override void WriteObservation(Span<float> observation)
    {
        observation[5] = (float)_dtheta2;
        observation[0] = (float)Math.Cos(_theta1);
        observation[1] = (float)Math.Sin(_theta1);
        observation[2] = (float)Math.Cos(_theta2);
        observation[3] = (float)Math.Sin(_theta2);
        observation[4] = (float)_dtheta1;
    }
}
