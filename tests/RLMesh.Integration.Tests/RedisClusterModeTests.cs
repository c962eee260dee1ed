using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Integration.Tests.Servers;
using RLMesh.Messaging.Redis;
using StackExchange.Redis;

namespace RLMesh.Integration.Tests;

/// <summary>
/// The Redis code against a cluster-enabled redis-server (<see cref="RedisClusterNodeFixture"/>): the keys of every script
/// and multi-key command must share one slot there, or it is refused. (That a script touches no key beyond its KEYS is
/// checked on the script sources, in RLMesh.Messaging.Tests: Redis 7.0 does not refuse an undeclared key in the slot.)
/// </summary>
public sealed class RedisClusterModeTests(RedisClusterNodeFixture cluster) : IClassFixture<RedisClusterNodeFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task TheClusterNodeRefusesAScriptWhoseKeysLieInDifferentSlots()
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(cluster.Configuration);
        var db = connection.GetDatabase();

        // The key names of a run without a hash tag: latest and a manifest hash to different slots.
        var refused = await Assert.ThrowsAnyAsync<RedisException>(() =>
            db.ScriptEvaluateAsync("return redis.call('GET', KEYS[1])", ["rlmesh:run-a:latest", "rlmesh:run-a:w:1:manifest"]));
        Assert.Contains("slot", refused.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SnapshotsOfOneAndManyChunksArePublishedLoadedAndCollectedOnAClusterNode()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("weights");
        options.ChunkBytes = 256;
        options.RetainVersions = 2;
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var follower = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        // A reader that hears no hints expects the version after the one it has, so it misses when several landed.
        var pollOnly = new RedisOptions { Configuration = options.Configuration, KeyPrefix = options.KeyPrefix, SubscribeToHints = false };
        await using var poller = await RedisWeightStore.ConnectAsync(pollOnly, null, cts.Token);

        var single = Snapshot(1, 50); // one chunk: the one-script publish and load
        await learner.PublishAsync(single, cts.Token);
        Assert.Equal(single.Values, (await follower.TryGetNewerAsync(-1, cts.Token))?.Values);

        var multi = Snapshot(2, 300); // five chunks: reserve, native chunk writes, commit, MGET
        await learner.PublishAsync(multi, cts.Token);
        Assert.Equal(multi.Values, (await follower.TryGetNewerAsync(1, cts.Token))?.Values);

        await learner.PublishAsync(Snapshot(3, 300), cts.Token);
        var newest = Snapshot(4, 300);
        await learner.PublishAsync(newest, cts.Token); // retention UNLINKs v1 and v2
        var caughtUp = await poller.TryGetNewerAsync(0, cts.Token);

        Assert.Equal(newest.Values, caughtUp?.Values);
        await Assert.ThrowsAsync<InvalidOperationException>(() => learner.PublishAsync(Snapshot(4, 300), cts.Token).AsTask());
        Assert.Equal(0, follower.RejectedSnapshots + poller.RejectedSnapshots);
        using var connection = await ConnectionMultiplexer.ConnectAsync(cluster.Configuration);
        var keys = new RedisKeyspace(options.KeyPrefix);
        Assert.False(await connection.GetDatabase().KeyExistsAsync(keys.Manifest(2)));
        Assert.True(await connection.GetDatabase().KeyExistsAsync(keys.Manifest(3)));
    }

    [Fact]
    public async Task HeartbeatsLearnerStatusAndTheDivergenceBoardWorkOnAClusterNode()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("control");
        await using var state = await RedisClusterState.ConnectAsync(options, null, cts.Token);
        await using var store = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var board = store.CreateDivergenceBoard();
        var heartbeats = Enumerable.Range(0, 3)
            .Select(i => new RunnerHeartbeat($"runner-{i}", 5, 100 * i, i, 10.5, 2, 0, "host", 1000 + i, 1_795_000_000_000, 6))
            .ToArray();
        var status = new LearnerStatus(6, 600, 12, 3, 21.5, 300, 0.4, "running", 5, 1_795_000_000_000);

        foreach (var heartbeat in heartbeats)
            await state.SendHeartbeatAsync(heartbeat, TimeSpan.FromSeconds(30), cts.Token);
        await state.WriteLearnerStatusAsync(status, cts.Token);
        await board.PublishDivergenceAsync("runner-1", new DivergenceReading(0.25, 5, 6), cts.Token);
        await board.PublishThresholdAsync(0.1, cts.Token);

        var read = await state.ReadHeartbeatsAsync(cts.Token); // one MGET over every runner's key
        Assert.Equal(heartbeats, read.OrderBy(r => r.RunnerId).Select(r => r.Heartbeat));
        Assert.Equal(status, await state.ReadLearnerStatusAsync(cts.Token));
        Assert.Equal(new DivergenceReading(0.25, 5, 6), await board.ReadDivergenceAsync("runner-1", cts.Token));
        Assert.Equal(0.1, await board.ReadThresholdAsync(cts.Token));
    }

    private RedisOptions Options(string test) => new()
    {
        Configuration = cluster.Configuration,
        KeyPrefix = $"rlmesh:{Samples.UniqueName(test)}",
    };

    private static WeightSnapshot Snapshot(long version, int parameters)
    {
        var values = new float[parameters];
        for (int i = 0; i < values.Length; i++)
            values[i] = MathF.Cos(i * 0.11f + version);
        return new WeightSnapshot(version, values);
    }
}
