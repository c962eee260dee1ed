using RLMesh.Core.Envs;
using Xunit;
using static RLMesh.Core.Tests.Envs.EnvTestKit;

namespace RLMesh.Core.Tests.Envs;

public class RegistryAndErrorTests
{
    [Theory]
    [InlineData("CartPole-v1", 500, 475f, 4, 1)]
    [InlineData("Acrobot-v1", 500, -100f, 6, 1)]
    [InlineData("MountainCar-v0", 200, -110f, 2, 1)]
    [InlineData("Pendulum-v1", 200, float.NaN, 3, 1)]
    [InlineData("MountainCarContinuous-v0", 999, 90f, 2, 1)]
    public void TheRegistryMakesEachEnvWithItsGymnasiumSpec(string id, int maxSteps, float threshold, int obsSize, int actSize)
    {
        var env = EnvRegistry.Make(id);
        Assert.Equal(id, env.Id);
        Assert.Equal(maxSteps, env.MaxEpisodeSteps);
        Assert.Equal(float.IsNaN(threshold) ? null : threshold, env.RewardThreshold);
        Assert.Equal(obsSize, env.ObservationSize);
        Assert.Equal(actSize, env.ActionSize);
        Assert.Equal(EnvRegistry.Spec(id), env.Spec);
        Assert.Contains(EnvRegistry.All, s => s == env.Spec);

        // Reset observations lie in the observation space.
        for (ulong seed = 0; seed < 20; seed++) Assert.True(env.ObservationSpace.Contains(env.Reset(seed).Observation));
    }

    [Fact]
    public void TheRegistryListsTheFiveClassicControlEnvsThenMinAtar()
    {
        Assert.Equal(["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0"],
            EnvRegistry.All.Select(s => s.Id).Take(5));
        Assert.All(EnvRegistry.All.Skip(5), s => Assert.StartsWith("MinAtar/", s.Id));
        Assert.Equal(15, EnvRegistry.All.Count);
        Assert.Equal("Box([-4.8 -inf -0.41887903 -inf], [4.8 inf 0.41887903 inf], (4,), float32)",
            EnvRegistry.Spec("CartPole-v1").ObservationSpace.ToString());
    }

    [Fact]
    public void AnUnknownIdThrowsAnExceptionListingTheKnownIds()
    {
        var ex = Assert.Throws<UnknownEnvironmentException>(() => EnvRegistry.Make("CartPole-v0"));
        Assert.IsAssignableFrom<ArgumentException>(ex);
        Assert.Contains("'CartPole-v0'", ex.Message);
        foreach (var spec in EnvRegistry.All) Assert.Contains(spec.Id, ex.Message);
        Assert.Throws<UnknownEnvironmentException>(() => EnvRegistry.Spec("cartpole-v1"));
    }

    [Theory]
    [InlineData("CartPole-v1", 3)]
    [InlineData("Acrobot-v1", 5)]
    [InlineData("Pendulum-v1", 4)]
    public void AStateOfTheWrongLengthIsRejectedWithAClearMessage(string id, int length)
    {
        var env = EnvRegistry.Make(id);
        var ex = Assert.Throws<ArgumentException>(() => env.SetState(new double[length]));
        Assert.Contains($"{env.StateSize} values", ex.Message);
        Assert.Contains($"got {length}", ex.Message);
    }

    [Theory]
    [InlineData("CartPole-v1", 2f)]
    [InlineData("CartPole-v1", -1f)]
    [InlineData("CartPole-v1", 0.5f)]
    [InlineData("Acrobot-v1", 3f)]
    [InlineData("MountainCar-v0", 1.25f)]
    [InlineData("MountainCar-v0", float.PositiveInfinity)]
    public void AnActionOutsideTheDiscreteSpaceIsRejected(string id, float action)
    {
        var env = EnvRegistry.Make(id);
        env.Reset(0);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Step(env, action));
        Assert.Contains(env.ActionSpace.ToString(), ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(-1));
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("Acrobot-v1")]
    [InlineData("MountainCar-v0")]
    [InlineData("Pendulum-v1")]
    [InlineData("MountainCarContinuous-v0")]
    public void ANaNActionIsRejected(string id)
    {
        var env = EnvRegistry.Make(id);
        env.Reset(0);
        Assert.Throws<ArgumentOutOfRangeException>(() => Step(env, float.NaN));
    }

    [Fact]
    public void ContinuousActionsOutOfRangeAreNotErrors()
    {
        var env = EnvRegistry.Make("Pendulum-v1");
        env.Reset(0);
        env.Step([1e6f]);
        env.Step([-1e6f]);
        Assert.Throws<InvalidOperationException>(() => env.Step(1));
    }

    [Fact]
    public void SteppingBeforeResetAndWrongBufferLengthsAreRejected()
    {
        var env = EnvRegistry.Make("CartPole-v1");
        Assert.Throws<InvalidOperationException>(() => env.Step(0));
        env.Reset(0);
        Assert.Throws<ArgumentException>(() => env.Step([0f, 1f]));
        Assert.Throws<ArgumentException>(() => env.Step([0f], new float[3]));
        Assert.Throws<ArgumentException>(() => env.Reset(0, new float[5]));
    }

    [Fact]
    public void ASeedReseedsTheStreamAndNoSeedContinuesIt()
    {
        var a = EnvRegistry.Make("CartPole-v1");
        var b = EnvRegistry.Make("CartPole-v1");
        Assert.Equal(a.Reset(12).Observation, b.Reset(12).Observation);
        var next = a.Reset().Observation;
        Assert.Equal(next, b.Reset().Observation);
        Assert.NotEqual(a.Reset(12).Observation, next);
        Assert.All(a.Reset(99).Observation, x => Assert.InRange(x, -0.05f, 0.05f));
    }

    [Fact]
    public void TheFriendlyAPIDeconstructsAndMatchesTheSpanAPI()
    {
        var friendly = EnvRegistry.Make("Acrobot-v1");
        var core = EnvRegistry.Make("Acrobot-v1");
        var (obs0, info) = friendly.Reset(4);
        Assert.Empty(info);
        var coreObs = new float[6];
        core.Reset(4, coreObs);
        Assert.Equal(coreObs, obs0);
        var (obs, reward, terminated, truncated, _) = friendly.Step(2);
        var outcome = core.Step([2f], coreObs);
        Assert.Equal(coreObs, obs);
        Assert.Equal(new StepOutcome(reward, terminated, truncated), outcome);
    }

    [Fact]
    public void SetStateRestartsTheTimeLimitAndAcrobotRoundsTheStateToFloat32()
    {
        var env = EnvRegistry.Make("Acrobot-v1");
        env.Reset(0);
        for (int t = 0; t < 10; t++) env.Step(1);
        env.SetState([0.1, 0.2, 0.3, 0.4]);
        Assert.Equal(0, env.ElapsedSteps);
        Assert.Equal([(double)0.1f, (double)0.2f, (double)0.3f, (double)0.4f], env.GetState());

        var cart = EnvRegistry.Make("CartPole-v1");
        cart.SetState([0.1, 0.2, 0.3, 0.4]);
        Assert.Equal([0.1, 0.2, 0.3, 0.4], cart.GetState());
    }
}
