using RLMesh.Core.Runtime;
using RLMesh.Messaging.LocalServers;
using RLMesh.Messaging.Redis;

namespace RLMesh.System.Tests;

/// <summary>
/// Heartbeats and what the parameter server makes of them: the parameter server as its own process against a real
/// redis-server, fed hand-written heartbeats or real runner and learner processes, read through /status and /metrics.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ParameterServerTests(ServersFixture servers, ITestOutputHelper log)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    [Fact]
    public async Task ARunnersLagIsTheLagItHadWhenItSentItsHeartbeatNotTheLearnersProgressSince()
    {
        await using var cluster = new Cluster(servers, log, "ps-lag", new Dictionary<string, string> { ["ParameterServer:PollSeconds"] = "0.2" });
        var redis = new RedisOptions { Configuration = servers.Redis.Configuration, KeyPrefix = $"rlmesh:{cluster.Run}" };
        await using (var store = await RedisWeightStore.ConnectAsync(redis, null, CancellationToken.None))
            await store.PublishAsync(new WeightSnapshot(10, new float[8]), CancellationToken.None);
        await using var state = await RedisClusterState.ConnectAsync(redis, null, CancellationToken.None);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // runner-0 was at v5 when v7 was the newest version; the learner has published up to v10 since.
        await state.SendHeartbeatAsync(new RunnerHeartbeat("runner-0", 5, 640, 2, 320, 3, 0, "test", 1, now, LatestVersion: 7), TimeSpan.FromMinutes(1), CancellationToken.None);
        // A runner that does not send the latest version it knew is measured against the latest version now.
        await state.SendHeartbeatAsync(new RunnerHeartbeat("runner-old", 5, 640, 2, 320, 3, 0, "test", 2, now), TimeSpan.FromMinutes(1), CancellationToken.None);
        var parameterServer = cluster.Start("parameter-server");

        var status = await cluster.WaitForStatusAsync("both runners listed against v10",
            s => Cluster.Latest(s) == 10 && s.GetProperty("runners").GetArrayLength() == 2, Patience);

        Assert.Equal(2, Cluster.Runner(status, "runner-0").GetProperty("lag").GetInt64());
        Assert.Equal(5, Cluster.Runner(status, "runner-old").GetProperty("lag").GetInt64());
        var metrics = await MetricsAsync(parameterServer);
        Assert.Contains("rlmesh_runner_version_lag{runner=\"runner-0\"} 2\n", metrics);
        Assert.Contains("rlmesh_runner_version_lag{runner=\"runner-old\"} 5\n", metrics);
    }

    [Fact]
    public async Task AForgottenRunnersSeriesLeaveTheParameterServersMetrics()
    {
        await using var cluster = new Cluster(servers, log, "ps-forget", new Dictionary<string, string>
        {
            ["ParameterServer:PollSeconds"] = "0.2",
            ["ParameterServer:StaleSeconds"] = "1",
            ["ParameterServer:ForgetSeconds"] = "3",
        });
        var redis = new RedisOptions { Configuration = servers.Redis.Configuration, KeyPrefix = $"rlmesh:{cluster.Run}" };
        await using var state = await RedisClusterState.ConnectAsync(redis, null, CancellationToken.None);
        var parameterServer = cluster.Start("parameter-server");
        using var stop = new CancellationTokenSource();
        // "staying" keeps beating; "leaving" beats until both are listed, then falls silent.
        bool leave = false;
        var beats = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                await state.SendHeartbeatAsync(new RunnerHeartbeat("staying", 3, 0, 0, 0, 0, 0, "test", 1, now, 3), TimeSpan.FromSeconds(2), CancellationToken.None);
                if (!Volatile.Read(ref leave))
                    await state.SendHeartbeatAsync(new RunnerHeartbeat("leaving", 3, 0, 0, 0, 0, 0, "test", 2, now, 3), TimeSpan.FromSeconds(2), CancellationToken.None);
                try { await Task.Delay(300, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        try
        {
            await cluster.WaitForStatusAsync("both runners listed", s => s.GetProperty("runners").GetArrayLength() == 2, Patience);
            Assert.Contains("runner=\"leaving\"", await MetricsAsync(parameterServer));
            Volatile.Write(ref leave, true);

            await cluster.WaitForStatusAsync("the silent runner forgotten",
                s => s.GetProperty("runners").EnumerateArray().Select(r => r.GetProperty("id").GetString()).SequenceEqual(["staying"]), Patience);

            var metrics = await MetricsAsync(parameterServer);
            Assert.DoesNotContain("runner=\"leaving\"", metrics);
            Assert.Contains("rlmesh_runner_version_lag{runner=\"staying\"} 0\n", metrics);
            Assert.Contains("rlmesh_runner_heartbeat_age_seconds{runner=\"staying\"}", metrics);
        }
        finally
        {
            await stop.CancelAsync();
            await beats;
        }
    }

    [Fact]
    public async Task AnActorRunnersHeartbeatCarriesItsVersionAndTheLatestVersionOfTheSameMoment()
    {
        await using var cluster = new Cluster(servers, log, "hb-latest", new Dictionary<string, string> { ["Runner:Envs"] = "8" });
        cluster.StartAll(runners: 1);
        await cluster.WaitForStatusAsync("runner-0 stepping on learned weights",
            s => Cluster.Runner(s, "runner-0") is var r && r.GetProperty("version").GetInt64() > 0 && r.GetProperty("frames").GetInt64() > 0, Patience);

        var redis = new RedisOptions { Configuration = servers.Redis.Configuration, KeyPrefix = $"rlmesh:{cluster.Run}" };
        await using var state = await RedisClusterState.ConnectAsync(redis, null, CancellationToken.None);
        var (_, heartbeat) = Assert.Single(await state.ReadHeartbeatsAsync(CancellationToken.None));
        Assert.NotNull(heartbeat);
        log.WriteLine($"heartbeat: {heartbeat}");
        Assert.True(heartbeat.PolicyVersion > 0, $"{heartbeat}");
        Assert.True(heartbeat.LatestVersion >= heartbeat.PolicyVersion, $"{heartbeat}");
    }

    [Fact]
    public async Task CentralInferenceRunnersHeartbeatSoTheParameterServerListsThemHealthyWithoutLag()
    {
        int port = ServerProcess.FreeLoopbackPort();
        await using var cluster = new Cluster(servers, log, "central-hb", new Dictionary<string, string>
        {
            ["Mode"] = "central-inference",
            ["Learner:InferenceUrl"] = $"http://127.0.0.1:{port}",
            ["Runner:Connect"] = $"ws://127.0.0.1:{port}{RLMesh.Remote.Protocol.RemoteProtocol.InferencePath}",
            ["Runner:Envs"] = "8",
        });
        cluster.Start("parameter-server");
        cluster.Start("learner");
        cluster.Start("env-runner", "runner-0");

        var status = await cluster.WaitForStatusAsync("runner-0 healthy, with frames and a policy version",
            s => Cluster.Runner(s, "runner-0") is var r && r.GetProperty("healthy").GetBoolean()
                 && r.GetProperty("version").GetInt64() >= 0 && r.GetProperty("frames").GetInt64() > 0, Patience);

        var runner = Cluster.Runner(status, "runner-0");
        Assert.Equal(0, runner.GetProperty("lag").GetInt64());
        Assert.Equal(1, status.GetProperty("runners_healthy").GetInt32());
    }

    private static Task<string> MetricsAsync(RoleProcess process) => Http.GetStringAsync($"http://127.0.0.1:{process.HttpPort}/metrics");
}
