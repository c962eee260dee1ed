using RLMesh.Core.Runtime;
using Xunit;
using Xunit.Abstractions;

// Training runs compete for the same two cores; one at a time keeps each run's behaviour representative.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace RLMesh.Learning.Tests;

/// <summary>
/// Learning is verified by learning: the documented defaults must solve the task for several seeds
/// within the frame budget the project promises. Only frames are asserted, never wall time.
/// </summary>
public class ImpalaLearningTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public async Task ImpalaSolvesCartPoleFromDefaultsWithinOneMillionFrames(ulong seed)
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with { Seed = seed };
        var result = await new EmbeddedTrainer(options).RunAsync(null, CancellationToken.None);
        output.WriteLine($"seed {seed}: solved={result.Solved} frames_to_solve={result.FramesToSolve} seconds_to_solve={result.SecondsToSolve:F1} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"seed {seed}: not solved after {result.Frames} frames, final 100-episode mean {result.FinalMeanReturn:F1}");
        Assert.True(result.FramesToSolve <= 1_000_000);
        Assert.True(result.FinalMeanReturn >= 475);
    }

    [Fact]
    public async Task ImpalaSolvesAcrobotFromDefaultsWithinTwoMillionFrames()
    {
        var options = TrainingOptions.ForEnvironment("Acrobot-v1") with { Seed = 1 };
        var result = await new EmbeddedTrainer(options).RunAsync(null, CancellationToken.None);
        output.WriteLine($"acrobot: solved={result.Solved} frames_to_solve={result.FramesToSolve} seconds_to_solve={result.SecondsToSolve:F1} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"not solved after {result.Frames} frames, final 100-episode mean {result.FinalMeanReturn:F1}");
        Assert.True(result.FramesToSolve <= 2_000_000);
        Assert.True(result.FinalMeanReturn >= -100);
    }
}
