using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

public class ObservationSubsetTests
{
    [Fact]
    public void TheSubsetShowsTheChosenElementsOfTheSameTrajectoryInTheGivenOrder()
    {
        var full = EnvRegistry.Make("CartPole-v1");
        var narrow = ObservationSubset.Make("CartPole-v1", [2, 0]);
        double[] state = [0.01, -0.2, 0.03, 0.4];
        full.SetState(state);
        narrow.SetState(state);
        var fullObs = new float[4];
        var narrowObs = new float[2];
        for (int step = 0; step < 30; step++)
        {
            float[] action = [step % 3 == 0 ? 1f : 0f];
            var a = full.Step(action, fullObs);
            var b = narrow.Step(action, narrowObs);
            Assert.Equal(a, b);
            Assert.Equal(fullObs[2], narrowObs[0]);
            Assert.Equal(fullObs[0], narrowObs[1]);
            if (a.Terminated || a.Truncated) break;
        }
    }

    [Fact]
    public void TheSpecIsTheMatchingSubBoxWithTheSameIdLimitAndActions()
    {
        var inner = EnvRegistry.Spec("CartPole-v1");
        var spec = ObservationSubset.SpecOf("CartPole-v1", [0, 2]);
        var box = Assert.IsType<Box>(spec.ObservationSpace);
        var innerBox = (Box)inner.ObservationSpace;
        Assert.Equal([2], box.Shape);
        Assert.Equal(new[] { innerBox.Low[0], innerBox.Low[2] }, box.Low);
        Assert.Equal(new[] { innerBox.High[0], innerBox.High[2] }, box.High);
        Assert.Equal(inner.Id, spec.Id);
        Assert.Equal(inner.MaxEpisodeSteps, spec.MaxEpisodeSteps);
        Assert.Equal(inner.ActionSpace, spec.ActionSpace);
    }

    [Fact]
    public void ASeededResetIsReproducibleAndTheTimeLimitStillTruncates()
    {
        var a = ObservationSubset.Make("CartPole-v1", [1]);
        var b = ObservationSubset.Make("CartPole-v1", [1]);
        var oa = new float[1];
        var ob = new float[1];
        a.Reset(7UL, oa);
        b.Reset(7UL, ob);
        Assert.Equal(oa, ob);

        var pendulum = ObservationSubset.Make("Pendulum-v1", [0, 1]);
        var obs = new float[2];
        pendulum.Reset(1UL, obs);
        StepOutcome outcome = default;
        int steps = 0;
        while (!outcome.Truncated && steps < 1000) { outcome = pendulum.Step([0f], obs); steps++; }
        Assert.Equal(200, steps);
    }

    [Theory]
    [InlineData(new[] { 4 }, "out of range")]
    [InlineData(new[] { -1 }, "out of range")]
    [InlineData(new[] { 1, 1 }, "twice")]
    public void BadIndicesAreClearErrors(int[] indices, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => ObservationSubset.SpecOf("CartPole-v1", indices));
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("0,2", new[] { 0, 2 })]
    [InlineData(" 3 , 1 ", new[] { 3, 1 })]
    public void IndexListsParse(string text, int[] expected) => Assert.Equal(expected, ObservationSubset.Parse(text));

    [Theory]
    [InlineData("0,x")]
    [InlineData("0,,2")]
    [InlineData("-1")]
    public void MalformedIndexListsAreFormatErrors(string text) =>
        Assert.Throws<FormatException>(() => ObservationSubset.Parse(text));

    [Fact]
    public void NoSubsetLeavesTheEnvironmentUnwrapped()
    {
        Assert.Null(ObservationSubset.Parse(" "));
        Assert.IsNotType<ObservationSubset>(ObservationSubset.Make("CartPole-v1", null));
        Assert.Same(EnvRegistry.Spec("CartPole-v1").ObservationSpace.GetType(), ObservationSubset.SpecOf("CartPole-v1", []).ObservationSpace.GetType());
    }

    [Fact]
    public void TrainingOptionsBuildTheNetworkForTheNarrowedObservation()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", "impala") with { Observe = [0, 2] };
        Assert.Empty(options.Validate());
        var spec = PolicyFactory.SpecFor(options);
        Assert.Equal(2, spec.ObservationSize);
        Assert.Equal([2], spec.ObservationShape);
        Assert.Equal(NetworkBackend.Auto, spec.Backend);

        var bad = options with { Observe = [0, 9] };
        Assert.Contains(bad.Validate(), e => e.Contains("out of range", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheEmbeddedTrainerActsOnTheNarrowedObservation()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", "impala") with { Observe = [0, 2], Actors = 1, MaxFrames = 2_000 };
        var trainer = new EmbeddedTrainer(options);
        Assert.Equal(2, trainer.Learner.Network.ObservationSize);
        var result = await trainer.RunAsync(null, CancellationToken.None);
        Assert.True(result.Frames >= 2_000);
    }
}
