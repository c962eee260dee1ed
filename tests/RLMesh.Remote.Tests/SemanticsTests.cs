using Xunit;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Remote.Env;

namespace RLMesh.Remote.Tests;

public sealed class SemanticsTests
{
    /// <summary>Half the envs follow a balancing rule (they reach the 500-step time limit), half act badly (they fall).</summary>
    private static void Policy(ReadOnlySpan<float> obs, Span<float> actions, int step)
    {
        for (int i = 0; i < actions.Length; i++)
        {
            var o = obs.Slice(i * 4, 4);
            actions[i] = i % 2 == 0 ? (o[2] + o[3] > 0 ? 1 : 0) : (step / 3 % 2);
        }
    }

    [Fact]
    public async Task RemoteStepsEqualTheLocalVectorEnvForTheSameSeedsAndActions()
    {
        const int envs = 6, steps = 1100;
        await using var rig = await LoopbackRig.StartAsync();
        await rig.AddRunnerAsync("r0", envs: 4);
        await rig.AddRunnerAsync("r1", envs: 4);
        using var remote = await RemoteVectorEnv.CreateAsync(rig.Server, envs, null, rig.Token);
        Assert.Equal(new[] { ("r0", 0, 4), ("r1", 4, 2) }, remote.Layout);
        var local = new VectorEnv("CartPole-v1", envs);

        var localReset = local.Reset(seed: 42);
        var remoteReset = remote.Reset(seed: 42);
        Assert.Equal(localReset.Observations, remoteReset.Observations);

        var actions = new float[envs];
        int terminations = 0, truncations = 0, autoresets = 0;
        var localEpisodes = new List<EpisodeStats>();
        var remoteEpisodes = new List<EpisodeStats>();
        var obs = localReset.Observations;
        for (int t = 0; t < steps; t++)
        {
            Policy(obs, actions, t);
            var l = local.Step(actions);
            var r = remote.Step(actions);
            Assert.Equal(l.Observations, r.Observations);
            Assert.Equal(l.Rewards, r.Rewards);
            Assert.Equal(l.Terminated, r.Terminated);
            Assert.Equal(l.Truncated, r.Truncated);
            Assert.Equal((bool[])l.Info["autoreset"], (bool[])r.Info["autoreset"]);
            Assert.Equal(l.Info.ContainsKey("episode"), r.Info.ContainsKey("episode"));
            if (l.Info.TryGetValue("episode", out var e))
            {
                localEpisodes.AddRange((EpisodeStats[])e);
                remoteEpisodes.AddRange((EpisodeStats[])r.Info["episode"]);
                Assert.Equal((bool[])l.Info["_episode"], (bool[])r.Info["_episode"]);
            }
            terminations += l.Terminated.Count(x => x);
            truncations += l.Truncated.Count(x => x);
            autoresets += ((bool[])l.Info["autoreset"]).Count(x => x);
            obs = l.Observations;
        }
        Assert.Equal(localEpisodes, remoteEpisodes);
        // The run covered every case: falls, time limits, and the reset step after each.
        Assert.True(terminations > 0 && truncations > 0, $"terminations {terminations}, truncations {truncations}");
        Assert.Equal(terminations + truncations, localEpisodes.Count);
        Assert.True(autoresets >= localEpisodes.Count - envs);
    }

    [Fact]
    public async Task RepliesArrivingOutOfOrderStillFillTheirOwnSlots()
    {
        const int envs = 6;
        await using var rig = await LoopbackRig.StartAsync();
        // The first runner answers last on every step.
        await rig.AddRunnerAsync("slow", envs: 2, stepDelay: TimeSpan.FromMilliseconds(30));
        await rig.AddRunnerAsync("fast-1", envs: 2);
        await rig.AddRunnerAsync("fast-2", envs: 2);
        using var remote = await RemoteVectorEnv.CreateAsync(rig.Server, envs, null, rig.Token);
        var local = new VectorEnv("CartPole-v1", envs);
        Assert.Equal(local.Reset(seed: 7).Observations, remote.Reset(seed: 7).Observations);
        var actions = new float[envs];
        for (int t = 0; t < 40; t++)
        {
            for (int i = 0; i < envs; i++) actions[i] = (i + t) % 2;
            Assert.Equal(local.Step(actions).Observations, remote.Step(actions).Observations);
        }
        Assert.Equal(new[] { "slow", "fast-1", "fast-2" }, remote.Layout.Select(l => l.RunnerId));
    }

    [Fact]
    public async Task ARemoteVectorEnvWaitsForRunnersThatJoinLate()
    {
        await using var rig = await LoopbackRig.StartAsync();
        var creating = RemoteVectorEnv.CreateAsync(rig.Server, 4, null, rig.Token);
        await rig.AddRunnerAsync("early", envs: 2);
        await Task.Delay(200);
        Assert.False(creating.IsCompleted);
        await rig.AddRunnerAsync("late", envs: 2);
        using var env = await creating;
        Assert.Equal(4, env.NumEnvs);
        Assert.Equal(16, env.Reset(seed: 1).Observations.Length);
    }
}
