using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Remote.Policy;
using Xunit;

namespace RLMesh.Remote.Tests;

public sealed class PolicyRunnerTests
{
    [Fact]
    public async Task PolicyRunnersWithApsSolveCartPoleAndPullWeightsLessOftenThanOncePerUnroll()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with
        {
            EnvsPerActor = 16,
            MaxFrames = 2_000_000,
            Sync = new SyncOptions { Mode = SyncMode.Aps, Tau = 0.05 },
        };
        var listening = new TaskCompletionSource<Uri>();
        var trainer = new PolicyRunnerTrainer(options) { OnListening = url => listening.TrySetResult(url) };
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var training = Task.Run(() => trainer.RunAsync(null, stop.Token));
        var url = await listening.Task.WaitAsync(TimeSpan.FromMinutes(1));
        var runners = Enumerable.Range(0, 2).Select(r => new PolicyRunner(new PolicyRunnerOptions
        {
            Url = url, Training = options, RunnerId = $"policy-{r}", NumEnvs = 16, Seed = 10UL + (ulong)r,
        })).ToArray();
        using var stopRunners = new CancellationTokenSource();
        var running = runners.Select(r => Task.Run(() => r.RunAsync(stopRunners.Token))).ToArray();

        var result = await training.WaitAsync(TimeSpan.FromMinutes(5));
        await stopRunners.CancelAsync();
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));

        Assert.True(result.Solved, $"not solved in {result.Frames} frames, mean {result.FinalMeanReturn}");
        Assert.True(result.Sync.Unrolls > 0);
        Assert.True(result.Sync.WeightPulls < result.Sync.Unrolls,
            $"{result.Sync.WeightPulls} pulls for {result.Sync.Unrolls} unrolls: APS should pull less often than every unroll");
        Assert.All(runners, r => Assert.True(r.Actor!.WeightPulls >= 1));
    }
}
