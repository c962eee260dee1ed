using RLMesh.Core.Envs;
using Xunit;
using static RLMesh.Core.Tests.Envs.EnvTestKit;

namespace RLMesh.Core.Tests.Envs;

public class MountainCarTests
{
    private const string Id = "MountainCar-v0";

    /// <summary>The README's update for one step (float64 throughout).</summary>
    private static (double P, double V) Expected(double p, double v, int action)
    {
        v += (action - 1) * 0.001 + Math.Cos(3 * p) * -0.0025;
        v = Math.Min(Math.Max(v, -0.07), 0.07);
        p = Math.Min(Math.Max(p + v, -1.2), 0.6);
        if (p == -1.2 && v < 0) v = 0;
        return (p, v);
    }

    [Fact]
    public void AStepFollowsTheVelocityAndPositionEquationsInFloat64()
    {
        var env = WithState(Id, -0.5, 0.01);
        var (outcome, obs) = Step(env, 2);
        var (p, v) = Expected(-0.5, 0.01, 2);
        Assert.Equal([p, v], env.GetState());
        Assert.Equal([(float)p, (float)v], obs);
        Assert.Equal(new StepOutcome(-1.0, false, false), outcome);
    }

    [Fact]
    public void HittingTheLeftWallWhileMovingLeftStopsTheCar()
    {
        var env = WithState(Id, -1.19, -0.07);
        var (_, obs) = Step(env, 0);
        Assert.Equal([-1.2, 0.0], env.GetState());
        Assert.Equal([-1.2f, 0f], obs);
    }

    [Fact]
    public void VelocityIsClippedToTheMaximumSpeedBeforeThePositionUpdate()
    {
        var env = WithState(Id, -0.5, 0.07);
        Step(env, 2);
        var state = env.GetState();
        Assert.Equal(0.07, state[1]);
        Assert.Equal(-0.5 + 0.07, state[0]);
    }

    [Fact]
    public void ReachingPosition05ExactlyWithNonnegativeVelocityTerminates()
    {
        const double v0 = 0.02;
        double start = FindStartLandingExactlyOn(0.5, 0.48, p => Expected(p, v0, 1).P);
        var env = WithState(Id, start, v0);
        var (outcome, _) = Step(env, 1);
        Assert.Equal(0.5, env.GetState()[0]);
        Assert.True(outcome.Terminated);
        Assert.Equal(-1.0, outcome.Reward);

        // One ulp short of the goal is not enough.
        double shortStart = start;
        while (Expected(shortStart, v0, 1).P >= 0.5) shortStart = Math.BitDecrement(shortStart);
        Assert.False(Step(WithState(Id, shortStart, v0), 1).Outcome.Terminated);
    }

    [Fact]
    public void BeingPastTheGoalWhileMovingLeftDoesNotTerminate()
    {
        var env = WithState(Id, 0.55, -0.01);
        var (outcome, _) = Step(env, 0);
        Assert.True(env.GetState()[0] >= 0.5);
        Assert.False(outcome.Terminated);
    }

    [Fact]
    public void TheRightWallClipsPositionTo06AndTerminates()
    {
        var env = WithState(Id, 0.59, 0.07);
        var (outcome, obs) = Step(env, 2);
        Assert.Equal(0.6f, obs[0]);
        Assert.True(outcome.Terminated);
    }

    [Fact]
    public void EpisodesAreTruncatedOnExactlyThe200thStep()
    {
        var env = EnvRegistry.Make(Id);
        env.Reset(3);
        var obs = new float[2];
        for (int t = 1; t < 200; t++)
        {
            var o = env.Step([1f], obs);
            Assert.False(o.Truncated, $"truncated early at step {t}");
            Assert.False(o.Terminated);
        }
        Assert.Equal(new StepOutcome(-1.0, false, true), env.Step([1f], obs));
    }

    [Fact]
    public void ResetSamplesPositionInTheDocumentedRangeWithZeroVelocity()
    {
        var env = EnvRegistry.Make(Id);
        for (ulong seed = 0; seed < 200; seed++)
        {
            var (obs, _) = env.Reset(seed);
            Assert.InRange(obs[0], -0.6f, -0.4f);
            Assert.Equal(0f, obs[1]);
        }
    }

    [Fact]
    public void AnEpisodeCanTerminateAndTruncateOnTheSameStep()
    {
        // Coast 90 steps from -0.6, then pump energy: found by searching start and coasting length so the
        // goal is reached on exactly the 200th step.
        var (steps, last) = RunEpisode(Id, [-0.6, 0.0], (t, obs) => t < 90 ? 1f : obs[1] >= 0 ? 2f : 0f);
        Assert.Equal(200, steps);
        Assert.True(last.Terminated);
        Assert.True(last.Truncated);
        Assert.Equal(-1.0, last.Reward);
    }
}
