using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Examples;
using RLMesh.Remote.Env;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Inference;
using Xunit;

namespace RLMesh.Remote.Tests;

/// <summary>Learning tests: they assert frames and "solved", never wall time.</summary>
public sealed class LearningTests
{
    private const long MaxFrames = 1_000_000;

    [Fact]
    public void ThePpoExampleSolvesCartPoleOnALocalVectorEnv()
    {
        var result = PpoLoop.Train(new VectorEnv("CartPole-v1", 16), seed: 1, MaxFrames, targetReturn: 475);
        Assert.True(result.Solved, $"not solved: {result}");
        Assert.True(result.MeanReturn >= 475);
    }

    [Fact]
    public async Task TheSamePpoExampleSolvesCartPoleThroughARemoteVectorEnvBackedByTwoRunnerProcesses()
    {
        await using var server = await RemoteServer.StartAsync(new RemoteServerOptions { EnvId = "CartPole-v1" }, CancellationToken.None);
        using var first = new RunnerProcess(server.EnvUrl, "ppo-0", envs: 8);
        await LoopbackRig.WaitUntilAsync(() => server.Runners.Count == 1 || first.HasExited);
        using var second = new RunnerProcess(server.EnvUrl, "ppo-1", envs: 8);
        using var env = await RemoteVectorEnv.CreateAsync(server, 16, null, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.Equal(2, env.Layout.Count);

        var result = PpoLoop.Train(env, seed: 1, MaxFrames, targetReturn: 475);

        Assert.True(result.Solved, $"not solved: {result}");
        Assert.True(result.MeanReturn >= 475);
        Assert.True(result.Frames <= MaxFrames);
    }

    [Fact]
    public async Task CentralInferenceSolvesCartPoleWithFourRunnerProcesses()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with { EnvsPerActor = 8, MaxFrames = 2_000_000 };
        var runners = new List<RunnerProcess>();
        var listening = new TaskCompletionSource<Uri>();
        var trainer = new CentralInferenceTrainer(options, new CentralInferenceOptions { InProcessRunners = 0 })
        {
            OnListening = url => listening.TrySetResult(url),
        };
        var training = Task.Run(() => trainer.RunAsync(null, CancellationToken.None));
        try
        {
            var url = await listening.Task.WaitAsync(TimeSpan.FromMinutes(1));
            for (int r = 0; r < 4; r++)
                runners.Add(new RunnerProcess(url, $"ci-{r}", envs: 8, mode: "central-inference", seed: 100UL + (ulong)r));
            var result = await training.WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(result.Solved, $"not solved in {result.Frames} frames, mean {result.FinalMeanReturn}");
            Assert.True(result.FinalMeanReturn >= 475);
            Assert.True(trainer.Server!.Stats().Batches > 0);
        }
        finally
        {
            foreach (var r in runners) r.Dispose();
        }
    }

    /// <summary>`rlmesh train --mode central-inference --lstm 64 --backend torch`: in-process runners, the server keeps each slot's state.</summary>
    [Fact]
    public async Task CentralInferenceWithAnLstmSolvesCartPole()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            Backend = NetworkBackend.Torch, LstmSize = 64, Seed = 1, MaxFrames = 1_000_000,
            EnvsPerActor = CentralInferenceTrainer.MinDefaultEnvsPerRunner,
        };
        var networks = new NetworkFactory([new NativeNetworkBackend(), new RLMesh.Torch.TorchNetworkBackend(new RLMesh.Torch.TorchOptions())]);
        var trainer = new CentralInferenceTrainer(options, new CentralInferenceOptions { InProcessRunners = options.Actors }, networks);
        Assert.True(trainer.Learner.Network.CoreStateSize > 0);
        var result = await trainer.RunAsync(null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(8));
        Assert.True(result.Solved, $"not solved in {result.Frames} frames, mean {result.FinalMeanReturn}");
    }
}
