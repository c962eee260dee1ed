using RLMesh.Core.Envs;

namespace RLMesh.Core.Tests.Envs;

internal static class EnvTestKit
{
    public static (StepOutcome Outcome, float[] Obs) Step(Env env, float action)
    {
        var obs = new float[env.ObservationSize];
        var outcome = env.Step([action], obs);
        return (outcome, obs);
    }

    public static Env WithState(string id, params double[] state)
    {
        var env = EnvRegistry.Make(id);
        env.SetState(state);
        return env;
    }

    /// <summary>
    /// Runs one episode from <paramref name="state"/> with a policy of (step index, observation) and returns
    /// the 1-based step on which it ended plus that step's outcome.
    /// </summary>
    public static (int Steps, StepOutcome Last) RunEpisode(string id, double[] state, Func<int, float[], float> policy)
    {
        var env = WithState(id, state);
        var obs = new float[env.ObservationSize];
        env.GetObservation(obs);
        for (int t = 0; ; t++)
        {
            var outcome = env.Step([policy(t, obs)], obs);
            if (outcome.Terminated || outcome.Truncated) return (t + 1, outcome);
        }
    }

    /// <summary>
    /// Finds a start position near <paramref name="guess"/> from which one step of <paramref name="next"/>
    /// lands exactly on <paramref name="target"/> (the step's float64 arithmetic decides, so we scan ulps).
    /// </summary>
    public static double FindStartLandingExactlyOn(double target, double guess, Func<double, double> next)
    {
        double p = guess;
        for (int i = 0; i < 5; i++) p += target - next(p); // fixed-point refinement
        double up = p, down = p;
        for (int i = 0; i < 10_000; i++)
        {
            if (next(up) == target) return up;
            if (next(down) == target) return down;
            up = Math.BitIncrement(up);
            down = Math.BitDecrement(down);
        }
        throw new InvalidOperationException($"No start position lands exactly on {target:R}.");
    }
}
