using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Torch;
using Xunit;
using Xunit.Abstractions;

namespace RLMesh.Learning.Tests;

/// <summary>
/// The torch backend learns what the native engine cannot express: memory (an LSTM core on a partially observed
/// task) and pixel-grid games (the MinAtar conv torso). Frame budgets only, never wall time.
/// </summary>
public class NetworkLearningTests(ITestOutputHelper output)
{
    private static NetworkFactory Networks() => new([new NativeNetworkBackend(), new TorchNetworkBackend()]);

    // CartPole with the velocities hidden: the agent sees cart position and pole angle only.
    private static readonly int[] PositionsOnly = [0, 2];

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    public async Task AnLstmSolvesCartPoleWithItsVelocitiesHiddenWithinOneMillionFrames(ulong seed)
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            Seed = seed, Observe = PositionsOnly, Backend = NetworkBackend.Torch, LstmSize = 64,
        };
        var result = await new EmbeddedTrainer(options, networks: Networks()).RunAsync(null, CancellationToken.None);
        output.WriteLine($"seed {seed}: solved={result.Solved} frames_to_solve={result.FramesToSolve} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"seed {seed}: not solved after {result.Frames} frames, final 100-episode mean {result.FinalMeanReturn:F1}");
        Assert.True(result.FramesToSolve <= 1_000_000);
    }

    /// <summary>IMPACT's online and target passes and its circular buffer's reuses replay each unroll from its recorded state.</summary>
    [Fact]
    public async Task ImpactWithAnLstmSolvesCartPoleWithItsVelocitiesHiddenWithinOneMillionFrames()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", AlgorithmDefaults.Impact) with
        {
            Seed = 1, Observe = PositionsOnly, Backend = NetworkBackend.Torch, LstmSize = 64,
        };
        var result = await new EmbeddedTrainer(options, networks: Networks()).RunAsync(null, CancellationToken.None);
        output.WriteLine($"impact: solved={result.Solved} frames_to_solve={result.FramesToSolve} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"not solved after {result.Frames} frames, final 100-episode mean {result.FinalMeanReturn:F1}");
        Assert.True(result.FramesToSolve <= 1_000_000);
    }

    [Fact]
    public async Task WithoutMemoryTheSameTaskIsNotSolvedInTheSameFrames()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with { Seed = 1, Observe = PositionsOnly };
        var result = await new EmbeddedTrainer(options).RunAsync(null, CancellationToken.None);
        output.WriteLine($"mlp: solved={result.Solved} frames={result.Frames} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Frames >= 1_000_000, "the run must use the whole budget the LSTM gets");
        Assert.False(result.Solved, $"an MLP solved the partially observed task in {result.FramesToSolve} frames: the check no longer separates memory from none");
    }

    [Fact]
    public async Task AUsersOwnTorchSharpTorsoSolvesCartPoleWithinOneMillionFrames()
    {
        var result = await RLMesh.Examples.CustomTorso.TrainAsync("CartPole-v1", seed: 1, maxFrames: 1_000_000);
        output.WriteLine($"custom torso: solved={result.Solved} frames_to_solve={result.FramesToSolve} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"not solved after {result.Frames} frames, final 100-episode mean {result.FinalMeanReturn:F1}");
    }

    [Fact]
    // The defaults for a MinAtar id pick the paper's conv torso, which auto-resolves to the torch backend.
    public async Task TheMinAtarConvTorsoLearnsBreakoutToAReturnOfFourWithinTwoMillionFrames()
    {
        var options = TrainingOptions.ForEnvironment("MinAtar/Breakout-v1") with
        {
            Seed = 1, TargetReturn = 4, MaxFrames = 2_000_000,
        };
        var result = await new EmbeddedTrainer(options, networks: Networks()).RunAsync(null, CancellationToken.None);
        output.WriteLine($"breakout: reached={result.Solved} frames={result.FramesToSolve} final_mean={result.FinalMeanReturn:F1}");
        Assert.True(result.Solved, $"mean return {result.FinalMeanReturn:F1} after {result.Frames} frames; random play scores about 0.5");
    }
}
