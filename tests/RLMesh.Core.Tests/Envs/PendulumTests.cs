using RLMesh.Core.Envs;
using Xunit;
using static RLMesh.Core.Tests.Envs.EnvTestKit;

namespace RLMesh.Core.Tests.Envs;

public class PendulumTests
{
    private const string Id = "Pendulum-v1";

    private static double AngleNormalize(double x)
    {
        double r = (x + Math.PI) % (2 * Math.PI);
        if (r < 0) r += 2 * Math.PI;
        return r - Math.PI;
    }

    [Fact]
    public void AStepFollowsTheREADMEEquations()
    {
        var env = WithState(Id, 1.0, -2.0);
        var (outcome, obs) = Step(env, 1.5f);
        double u = 1.5;
        double cost = AngleNormalize(1.0) * AngleNormalize(1.0) + 0.1 * 4.0 + 0.001 * u * u;
        double thDot = -2.0 + (15.0 * Math.Sin(1.0) + 3.0 * u) * 0.05;
        double th = 1.0 + thDot * 0.05;
        Assert.Equal(-cost, outcome.Reward, 12);
        Assert.Equal([th, thDot], env.GetState());
        Assert.Equal([(float)Math.Cos(th), (float)Math.Sin(th), (float)thDot], obs);
        Assert.False(outcome.Terminated);
        Assert.False(outcome.Truncated);
    }

    [Fact]
    public void RewardIsComputedBeforeTheStepFromTheUnwrappedThetaNormalised()
    {
        double theta = 2 * Math.PI + 0.5;
        var env = WithState(Id, theta, 1.0);
        var (outcome, _) = Step(env, 0f);
        Assert.Equal(-(0.25 + 0.1), outcome.Reward, 12);
        // The state itself is never wrapped.
        Assert.True(env.GetState()[0] > 2 * Math.PI);

        var negative = WithState(Id, -1.5 * Math.PI, 0.0);
        Assert.Equal(-(Math.PI / 2) * (Math.PI / 2), Step(negative, 0f).Outcome.Reward, 12);
    }

    [Fact]
    public void TorqueIsClippedTo2AndTheCostUsesTheClippedTorque()
    {
        var a = WithState(Id, 0.3, 0.2);
        var b = WithState(Id, 0.3, 0.2);
        var (outA, obsA) = Step(a, 5f);
        var (outB, obsB) = Step(b, 2f);
        Assert.Equal(outB, outA);
        Assert.Equal(obsB, obsA);
        Assert.Equal(-(0.3 * 0.3 + 0.1 * 0.04 + 0.001 * 4), outA.Reward, 12);
        Assert.Equal(Step(WithState(Id, 0.3, 0.2), -2f).Obs, Step(WithState(Id, 0.3, 0.2), -7.5f).Obs);
    }

    [Fact]
    public void AngularVelocityIsClippedTo8BeforeThetaIsIntegrated()
    {
        var env = WithState(Id, 0.0, 9.5);
        var (outcome, obs) = Step(env, 0f);
        Assert.Equal([0.4, 8.0], env.GetState());
        Assert.Equal(8f, obs[2]);
        // The cost still sees the unclipped 9.5 from before the step.
        Assert.Equal(-(0.1 * 9.5 * 9.5), outcome.Reward, 12);
    }

    [Fact]
    public void ItNeverTerminatesAndTruncatesOnExactlyThe200thStep()
    {
        var env = EnvRegistry.Make(Id);
        env.Reset(11);
        var obs = new float[3];
        for (int t = 1; t <= 200; t++)
        {
            var o = env.Step([2f], obs);
            Assert.False(o.Terminated);
            Assert.Equal(t == 200, o.Truncated);
        }
    }

    [Fact]
    public void TheObservationIsCosSinAndVelocityNotTheState()
    {
        var env = WithState(Id, Math.PI, 0.25);
        var obs = new float[3];
        env.GetObservation(obs);
        Assert.Equal([(float)Math.Cos(Math.PI), (float)Math.Sin(Math.PI), 0.25f], obs);
        Assert.Null(env.RewardThreshold);
        Assert.Equal("Box(-2.0, 2.0, (1,), float32)", env.ActionSpace.ToString());
    }

    [Fact]
    public void ANaNTorqueIsRejected()
    {
        var env = WithState(Id, 0.0, 0.0);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Step(env, float.NaN));
        Assert.Contains("NaN", ex.Message);
    }
}
