using Xunit;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using RLMesh.Remote.Env;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Inference;
using RLMesh.Torch;

namespace RLMesh.Remote.Tests;

/// <summary>The central inference server keeps a recurrent policy's core state per runner and sub-env slot.</summary>
public sealed class RecurrentInferenceTests
{
    private const int Steps = 10;

    /// <summary>
    /// Two runners of different widths share the server's batches. Replaying each slot alone, from the state its unroll
    /// recorded and zeroing it after every autoreset step, must reproduce the behaviour policy the server acted with and
    /// the state the slot's next unroll records: the state follows its slot through mixed batches and restarts with
    /// each episode.
    /// </summary>
    [Fact]
    public async Task EachSlotsStateFollowsItThroughSharedBatchesAndRestartsWithItsEpisodes()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1") with { Backend = NetworkBackend.Torch, LstmSize = 8 };
        var networks = new NetworkFactory([new NativeNetworkBackend(), new TorchNetworkBackend(new TorchOptions())]);
        var net = networks.Create(PolicyFactory.SpecFor(options), seed: 3);
        int s = net.CoreStateSize, o = net.ObservationSize, p = net.PolicyOutputSize;
        Assert.True(s > 0);

        var queue = new InMemoryTrajectoryQueue(1024);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await RemoteServer.StartAsync(new RemoteServerOptions { EnvId = "CartPole-v1" }, stop.Token);
        await using var inference = new InferenceServer(net, new InMemoryWeightStore(), queue, new InferenceServerOptions { UnrollLength = Steps });
        server.Inference = inference;
        var runners = new[] { ("wide", 5), ("narrow", 3) }.Select((r, k) => Task.Run(() => new RemoteEnvRunner(new RemoteEnvRunnerOptions
        {
            Url = server.InferenceUrl, EnvId = "CartPole-v1", NumEnvs = r.Item2, RunnerId = r.Item1,
            Mode = RunnerMode.CentralInference, Seed = 11UL + (ulong)k,
        }).RunAsync(stop.Token))).ToList();

        // Enough unrolls per runner that CartPole's random-policy episodes (about 20 steps) end inside them.
        var unrolls = new Dictionary<string, List<Trajectory>> { ["wide"] = [], ["narrow"] = [] };
        while (unrolls.Values.Any(u => u.Count < 8))
        {
            var unroll = await queue.DequeueAsync(stop.Token);
            unrolls[unroll.Source].Add(unroll);
        }
        await stop.CancelAsync();
        foreach (var r in runners)
        {
            try { await r; }
            catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or RemoteProtocolException) { }
        }

        var session = net.Clone().CreateInferenceSession();
        var state = new float[s];
        var outputs = new float[p];
        var value = new float[1];
        int resets = 0;
        foreach (var (runner, list) in unrolls)
        {
            Assert.All(list[0].InitialCoreState, x => Assert.Equal(0f, x));
            for (int k = 0; k + 1 < list.Count; k++)
            {
                var unroll = list[k];
                int n = unroll.Envs;
                Assert.Equal(s, unroll.CoreStateSize);
                for (int i = 0; i < n; i++)
                {
                    unroll.InitialCoreState.AsSpan(i * s, s).CopyTo(state);
                    for (int t = 0; t < Steps; t++)
                    {
                        session.Evaluate(unroll.Observations.AsSpan((t * n + i) * o, o), 1, state, outputs, value);
                        AssertClose(unroll.BehaviourPolicy.AsSpan((t * n + i) * p, p), outputs, $"{runner} unroll {k} slot {i} step {t} policy");
                        if (!unroll.Valid[t * n + i])
                        {
                            Array.Clear(state);
                            resets++;
                        }
                    }
                    AssertClose(list[k + 1].InitialCoreState.AsSpan(i * s, s), state, $"{runner} unroll {k + 1} slot {i} initial state");
                }
            }
        }
        Assert.True(resets > 0, "no episode ended inside the checked unrolls: the reset path went untested");
        Assert.Contains(unrolls.Values.SelectMany(u => u).SelectMany(u => u.InitialCoreState), x => x != 0f);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        for (int j = 0; j < expected.Length; j++)
            Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-4f, $"{what}[{j}]: server {expected[j]}, replay {actual[j]}");
    }
}
