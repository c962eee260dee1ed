using RLMesh.Integration.Tests.Servers;
using RLMesh.Messaging.Redis;
using StackExchange.Redis;

namespace RLMesh.Integration.Tests;

[Collection(RedisCollection.Name)]
public sealed class RedisClusterStateTests(RedisFixture redis)
{
    [Fact]
    public async Task AHeartbeatCarriesTheRunnersVersionAndTheLatestVersionItKnewWhenItWasSent()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"rlmesh:{Samples.UniqueName("hb")}" };
        await using var runner = await RedisClusterState.ConnectAsync(options, null, cts.Token);
        await using var parameterServer = await RedisClusterState.ConnectAsync(options, null, cts.Token);
        var sent = new RunnerHeartbeat("runner-0", 41, 3200, 12, 1600.5, 9, 0, "host-a", 4242, 1_795_000_000_000, LatestVersion: 44);

        await runner.SendHeartbeatAsync(sent, TimeSpan.FromSeconds(30), cts.Token);

        var (id, read) = Assert.Single(await parameterServer.ReadHeartbeatsAsync(cts.Token));
        Assert.Equal("runner-0", id);
        Assert.Equal(sent, read);
    }

    [Fact]
    public async Task AHeartbeatFromARunnerThatDoesNotSendTheLatestVersionReadsItAsUnknown()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"rlmesh:{Samples.UniqueName("hb")}" };
        await using var parameterServer = await RedisClusterState.ConnectAsync(options, null, cts.Token);
        // The JSON an older runner writes: everything but latest_version.
        var keys = new RedisKeyspace(options.KeyPrefix);
        using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            var db = connection.GetDatabase();
            await db.StringSetAsync(keys.Runner("old"), """
                {"runner_id":"old","policy_version":7,"frames":100,"episodes":1,"frames_per_second":50,"weight_pulls":2,
                 "rejected_snapshots":0,"host":"h","process_id":1,"sent_unix_ms":1795000000000}
                """);
            await db.SetAddAsync(keys.Runners, "old");
        }

        var (_, read) = Assert.Single(await parameterServer.ReadHeartbeatsAsync(cts.Token));
        Assert.NotNull(read);
        Assert.Equal(7, read.PolicyVersion);
        Assert.Equal(-1, read.LatestVersion);
    }
}
