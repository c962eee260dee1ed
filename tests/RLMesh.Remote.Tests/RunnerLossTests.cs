using RLMesh.Remote.Env;
using RLMesh.Remote.Hosting;
using Xunit;

namespace RLMesh.Remote.Tests;

/// <summary>Runner processes (`rlmesh remote-runner`) killed while the trainer steps them.</summary>
public sealed class RunnerLossTests
{
    private static async Task<(RemoteServer Server, RunnerProcess[] Runners)> StartAsync(int runners, int envs)
    {
        var server = await RemoteServer.StartAsync(new RemoteServerOptions { EnvId = "CartPole-v1" }, CancellationToken.None);
        var processes = new RunnerProcess[runners];
        for (int i = 0; i < runners; i++)
        {
            processes[i] = new RunnerProcess(server.EnvUrl, $"proc-{i}", envs);
            // Join order decides slots: wait for each before starting the next.
            await LoopbackRig.WaitUntilAsync(() => server.Runners.Count == i + 1 || processes[i].HasExited);
            Assert.False(processes[i].HasExited, processes[i].StdErr);
        }
        return (server, processes);
    }

    /// <summary>Steps on a background thread until it throws or has stepped enough; kills the victim once stepping is under way.</summary>
    private static async Task<Exception?> StepWhileKillingAsync(RemoteVectorEnv env, RunnerProcess victim, int steps)
    {
        int stepped = 0;
        var stepping = Task.Run(() =>
        {
            var actions = new float[env.NumEnvs];
            env.Reset(seed: 3);
            for (int t = 0; t < steps; t++)
            {
                for (int i = 0; i < actions.Length; i++) actions[i] = (t + i) % 2;
                env.Step(actions);
                Volatile.Write(ref stepped, t + 1);
            }
        });
        await LoopbackRig.WaitUntilAsync(() => Volatile.Read(ref stepped) > 50 || stepping.IsCompleted);
        victim.Kill();
        try
        {
            await stepping.WaitAsync(TimeSpan.FromMinutes(2));
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [Fact]
    public async Task KillingARunnerProcessDuringStepsThrowsAnErrorNamingItsSlots()
    {
        var (server, processes) = await StartAsync(runners: 2, envs: 4);
        try
        {
            using var env = await RemoteVectorEnv.CreateAsync(server, 8, new RemoteVectorEnvOptions { OnRunnerLost = LostRunnerPolicy.Throw }, CancellationToken.None);
            var error = await StepWhileKillingAsync(env, processes[1], steps: 1_000_000);
            var remote = Assert.IsType<RemoteEnvException>(error);
            Assert.Equal(new[] { 4, 5, 6, 7 }, remote.Slots);
            Assert.Equal("proc-1", remote.RunnerId);
            Assert.Contains("slots 4..7 have no environment", remote.Message);
            // The env stays failed rather than stepping on with holes.
            Assert.Throws<RemoteEnvException>(() => env.Step(new float[8]));
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task KillingARunnerProcessMovesItsSlotsToAStandbyRunnerWithAFreshReset()
    {
        var (server, processes) = await StartAsync(runners: 3, envs: 4);
        try
        {
            // 8 slots on the first two runners; the third is standby.
            using var env = await RemoteVectorEnv.CreateAsync(server, 8, new RemoteVectorEnvOptions { OnRunnerLost = LostRunnerPolicy.Reassign }, CancellationToken.None);
            Assert.Equal(new[] { "proc-0", "proc-1" }, env.Layout.Select(l => l.RunnerId));

            int stepped = 0;
            Core.Envs.VectorStepResult? reassignedStep = null;
            var stepping = Task.Run(() =>
            {
                var actions = new float[8];
                env.Reset(seed: 3);
                for (int t = 0; t < 100_000 && reassignedStep is null; t++)
                {
                    for (int i = 0; i < 8; i++) actions[i] = (t + i) % 2;
                    var result = env.Step(actions);
                    if (result.Info.ContainsKey("reassigned")) reassignedStep = result;
                    Volatile.Write(ref stepped, t + 1);
                }
            });
            await LoopbackRig.WaitUntilAsync(() => Volatile.Read(ref stepped) > 50 || stepping.IsCompleted);
            processes[0].Kill();
            await stepping.WaitAsync(TimeSpan.FromMinutes(2));

            Assert.NotNull(reassignedStep);
            var mask = (bool[])reassignedStep.Info["reassigned"];
            Assert.Equal(new[] { true, true, true, true, false, false, false, false }, mask);
            var autoreset = (bool[])reassignedStep.Info["autoreset"];
            Assert.All(Enumerable.Range(0, 4), i => Assert.True(autoreset[i]));
            Assert.All(Enumerable.Range(0, 4), i => Assert.Equal(0f, reassignedStep.Rewards[i]));
            var move = Assert.Single(env.Reassignments);
            Assert.Equal(("proc-0", "proc-2"), (move.FromRunner, move.ToRunner));
            Assert.Equal(new[] { 0, 1, 2, 3 }, move.Slots);
            Assert.Equal(new[] { "proc-2", "proc-1" }, env.Layout.Select(l => l.RunnerId));
            // And stepping goes on over all eight slots.
            var next = env.Step(new float[8]);
            Assert.Equal(32, next.Observations.Length);
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
            await server.DisposeAsync();
        }
    }
}
