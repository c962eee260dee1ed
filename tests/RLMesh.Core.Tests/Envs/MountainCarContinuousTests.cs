using RLMesh.Core.Envs;
using Xunit;
using static RLMesh.Core.Tests.Envs.EnvTestKit;

namespace RLMesh.Core.Tests.Envs;

public class MountainCarContinuousTests
{
    private const string Id = "MountainCarContinuous-v0";

    /// <summary>The README's update before the float32 store.</summary>
    private static (double P, double V) Expected(double p, double v, float action)
    {
        double force = Math.Min(Math.Max(action, -1.0), 1.0);
        v += force * 0.0015 - 0.0025 * Math.Cos(3 * p);
        v = Math.Min(Math.Max(v, -0.07), 0.07);
        p = Math.Min(Math.Max(p + v, -1.2), 0.6);
        if (p == -1.2 && v < 0) v = 0;
        return (p, v);
    }

    [Fact]
    public void TheStateIsStoredAsFloat32AfterEveryStepAndTheNextStepStartsFromIt()
    {
        var env = WithState(Id, -0.5, 0.0);
        var (_, obs1) = Step(env, 0.7f);
        var (p1, v1) = Expected(-0.5, 0.0, 0.7f);
        Assert.Equal([(double)(float)p1, (double)(float)v1], env.GetState());
        Assert.Equal([(float)p1, (float)v1], obs1);

        var (_, obs2) = Step(env, -0.3f);
        var (p2, v2) = Expected((float)p1, (float)v1, -0.3f);
        Assert.Equal([(float)p2, (float)v2], obs2);
        Assert.Equal([(double)(float)p2, (double)(float)v2], env.GetState());
    }

    [Fact]
    public void ThePenaltyUsesTheUnclippedActionWhileTheForceIsClipped()
    {
        var (clipped, obsClipped) = Step(WithState(Id, -0.5, 0.0), 3f);
        var (unit, obsUnit) = Step(WithState(Id, -0.5, 0.0), 1f);
        Assert.Equal(obsUnit, obsClipped);
        Assert.Equal(0 - 3.0 * 3.0 * 0.1, clipped.Reward);
        Assert.Equal(0 - 1.0 * 1.0 * 0.1, unit.Reward);
        Assert.Equal(Step(WithState(Id, -0.5, 0.0), -1f).Obs, Step(WithState(Id, -0.5, 0.0), -2f).Obs);
    }

    [Fact]
    public void ReachingTheGoalTerminatesWith100MinusTheActionPenalty()
    {
        var env = WithState(Id, 0.44, 0.07);
        var (outcome, _) = Step(env, 0.5f);
        Assert.True(outcome.Terminated);
        Assert.Equal(100.0 - 0.5 * 0.5 * 0.1, outcome.Reward);
    }

    [Fact]
    public void TerminationIsCheckedOnTheFloat64PositionBeforeRounding()
    {
        const double v0 = 0.03;
        double start = FindStartLandingExactlyOn(0.45, 0.42, p => Expected(p, v0, 0f).P);
        var env = WithState(Id, start, v0);
        var (outcome, obs) = Step(env, 0f);
        Assert.True(outcome.Terminated);
        // Stored as float32, the position is just below the goal line.
        Assert.True(obs[0] < 0.45);
        Assert.Equal(0.45f, obs[0]);
    }

    [Fact]
    public void HittingTheLeftWallWhileMovingLeftStopsTheCar()
    {
        var env = WithState(Id, -1.19, -0.07);
        var (_, obs) = Step(env, -1f);
        Assert.Equal([-1.2f, 0f], obs);
    }

    [Fact]
    public void EpisodesAreTruncatedOnExactlyThe999thStep()
    {
        var env = EnvRegistry.Make(Id);
        env.Reset(5);
        var obs = new float[2];
        for (int t = 1; t <= 999; t++)
        {
            var o = env.Step([0f], obs);
            Assert.False(o.Terminated);
            Assert.Equal(t == 999, o.Truncated);
        }
    }

    [Fact]
    public void AnEpisodeCanTerminateAndTruncateOnTheSameStep()
    {
        // Coast 922 steps from -0.6, then pump with full force: found by search so the goal is reached on
        // exactly the 999th step.
        var (steps, last) = RunEpisode(Id, [-0.6, 0.0], (t, obs) => t < 922 ? 0f : obs[1] >= 0 ? 1f : -1f);
        Assert.Equal(999, steps);
        Assert.True(last.Terminated);
        Assert.True(last.Truncated);
        Assert.Equal(100.0 - 0.1, last.Reward);
    }
}
