using RLMesh.Core.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace RLMesh.Learning.Tests;

/// <summary>
/// IMPACT, PPO and V-MPO from their documented defaults (TrainingOptions.ForEnvironment(env, algo)) reach
/// the thresholds within the frame budgets. One seed per pair where runs are long; the 3-seed
/// table is `rlmesh bench algos`. Only frames are asserted, never wall time.
/// </summary>
public class AlgorithmLearningTests(ITestOutputHelper output)
{
    private async Task SolvesWithin(string algo, string env, ulong seed, long frameBudget, double threshold)
    {
        var options = TrainingOptions.ForEnvironment(env, algo) with { Seed = seed, TargetReturn = threshold };
        var result = await new EmbeddedTrainer(options).RunAsync(null, CancellationToken.None);
        output.WriteLine($"{algo} {env} seed {seed}: solved={result.Solved} frames_to_solve={result.FramesToSolve} seconds_to_solve={result.SecondsToSolve:F1} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"{algo} {env} seed {seed}: not solved after {result.Frames} frames, final 100-episode mean {result.FinalMeanReturn:F1}");
        Assert.True(result.FramesToSolve <= frameBudget, $"solved after {result.FramesToSolve} frames, budget {frameBudget}");
        Assert.True(result.FinalMeanReturn >= threshold);
    }

    [Theory]
    [InlineData("impact", 1UL)]
    [InlineData("impact", 2UL)]
    [InlineData("impact", 3UL)]
    [InlineData("ppo", 1UL)]
    [InlineData("ppo", 2UL)]
    [InlineData("ppo", 3UL)]
    [InlineData("vmpo", 1UL)]
    [InlineData("vmpo", 2UL)]
    [InlineData("vmpo", 3UL)]
    public Task SolvesCartPoleFromDefaultsWithinOneMillionFrames(string algo, ulong seed)
        => SolvesWithin(algo, "CartPole-v1", seed, 1_000_000, 475);

    [Theory]
    [InlineData("impact")]
    [InlineData("ppo")]
    [InlineData("vmpo")]
    public Task SolvesAcrobotFromDefaultsWithinTwoMillionFrames(string algo)
        => SolvesWithin(algo, "Acrobot-v1", 1, 2_000_000, -100);

    [Theory]
    [InlineData("ppo")]
    [InlineData("vmpo")]
    public Task ReachesMinus200OnPendulumWithinTwoMillionFrames(string algo)
        => SolvesWithin(algo, "Pendulum-v1", 1, 2_000_000, -200);
}
