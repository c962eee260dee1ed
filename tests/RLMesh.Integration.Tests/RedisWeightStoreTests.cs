using RLMesh.Messaging.LocalServers;
using RLMesh.Core.Runtime;
using RLMesh.Integration.Tests.Servers;
using RLMesh.Messaging.Redis;
using StackExchange.Redis;

namespace RLMesh.Integration.Tests;

[Collection(RedisCollection.Name)]
public sealed class RedisWeightStoreTests(RedisFixture redis)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task AWeightSnapshotRoundTripsThroughChunksAndManifest()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("roundtrip");
        options.ChunkBytes = 4096; // several chunks and a short last one
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var actor = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var published = Snapshot(version: 1, parameters: 3000);

        Assert.Null(await actor.TryGetNewerAsync(-1, cts.Token));
        await learner.PublishAsync(published, cts.Token);
        var loaded = await actor.TryGetNewerAsync(-1, cts.Token);

        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        Assert.Equal(published.Values, loaded.Values);
        Assert.Equal(1, actor.LatestVersion);
        Assert.Null(await actor.TryGetNewerAsync(1, cts.Token));
    }

    [Fact]
    public async Task TheNetworkDescriptionTravelsWithTheWeights()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("described");
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var actor = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var description = new RLMesh.Core.Nn.NetworkDescription(RLMesh.Core.Nn.NetworkBackend.Torch, RLMesh.Core.Nn.NetworkTorso.MinAtar, 128, [10, 10, 4]);
        await learner.PublishAsync(Snapshot(1, 100) with { Network = description }, cts.Token);
        await learner.PublishAsync(Snapshot(2, 100), cts.Token);

        var described = await actor.TryGetNewerAsync(-1, cts.Token);
        Assert.Equal(2, described!.Version);
        Assert.Null(described.Network); // published without one: nothing to check
        await learner.PublishAsync(Snapshot(3, 100) with { Network = description }, cts.Token);
        var loaded = await actor.TryGetNewerAsync(2, cts.Token);
        Assert.NotNull(loaded!.Network);
        Assert.Equal(RLMesh.Core.Nn.NetworkBackend.Torch, loaded.Network.Backend);
        Assert.Equal(RLMesh.Core.Nn.NetworkTorso.MinAtar, loaded.Network.Torso);
        Assert.Equal(128, loaded.Network.LstmSize);
        Assert.Equal([10, 10, 4], loaded.Network.ObservationShape);
    }

    [Fact]
    public async Task ACorruptedChunkIsNeverLoadedAndThePreviousVersionStaysInUse()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("corrupt");
        options.ChunkBytes = 1024;
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var actor = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await learner.PublishAsync(Snapshot(1, 1000), cts.Token);
        var current = await actor.TryGetNewerAsync(-1, cts.Token);
        await learner.PublishAsync(Snapshot(2, 1000), cts.Token);

        await Raw(async db => await db.StringSetAsync(Keys(options).Chunk(2, 1), new byte[1024]));
        var next = await actor.TryGetNewerAsync(current!.Version, cts.Token);

        Assert.Null(next);
        Assert.Equal(1, actor.RejectedSnapshots);
        await learner.PublishAsync(Snapshot(3, 1000), cts.Token);
        Assert.Equal(3, (await actor.TryGetNewerAsync(current.Version, cts.Token))?.Version);
    }

    [Fact]
    public async Task ATornSnapshotWithAMissingChunkIsNeverLoaded()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("torn");
        options.ChunkBytes = 1024;
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var actor = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await learner.PublishAsync(Snapshot(1, 1000), cts.Token);

        await Raw(async db => await db.KeyDeleteAsync(Keys(options).Chunk(1, 2)));

        Assert.Null(await actor.TryGetNewerAsync(-1, cts.Token));
        Assert.Equal(1, actor.RejectedSnapshots);
    }

    [Fact]
    public async Task ATruncatedChunkIsNeverLoaded()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("short");
        options.ChunkBytes = 1024;
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await learner.PublishAsync(Snapshot(1, 1000), cts.Token);

        await Raw(async db => await db.StringSetAsync(Keys(options).Chunk(1, 0), new byte[1000]));

        Assert.Null(await learner.TryGetNewerAsync(-1, cts.Token));
        Assert.Equal(1, learner.RejectedSnapshots);
    }

    [Fact]
    public async Task RetentionDeletesVersionsOlderThanTheLastK()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("retention");
        options.ChunkBytes = 1024;
        options.RetainVersions = 2;
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        for (long v = 1; v <= 4; v++)
            await learner.PublishAsync(Snapshot(v, 600), cts.Token);

        var exists = new Dictionary<long, bool>();
        await Raw(async db =>
        {
            for (long v = 1; v <= 4; v++)
            {
                exists[v] = await db.KeyExistsAsync(Keys(options).Manifest(v))
                    | await db.KeyExistsAsync(Keys(options).Chunk(v, 0))
                    | await db.KeyExistsAsync(Keys(options).Chunk(v, 2));
            }
        });

        Assert.Equal(new Dictionary<long, bool> { [1] = false, [2] = false, [3] = true, [4] = true }, exists);
    }

    [Fact]
    public async Task AReaderThatHeardNoHintsAndMissedSeveralVersionsLoadsTheNewest()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("missed");
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var pollOnly = new RedisOptions { Configuration = options.Configuration, KeyPrefix = options.KeyPrefix, SubscribeToHints = false };
        await using var poller = await RedisWeightStore.ConnectAsync(pollOnly, null, cts.Token);
        for (long v = 1; v <= 3; v++)
            await learner.PublishAsync(Snapshot(v, 40), cts.Token);

        var loaded = await poller.TryGetNewerAsync(0, cts.Token); // expects v1, finds v3

        Assert.Equal(3, loaded?.Version);
        Assert.Equal(Snapshot(3, 40).Values, loaded?.Values);
        Assert.Equal(0, poller.RejectedSnapshots);
    }

    [Fact]
    public async Task ReusingAVersionNumberIsRefused()
    {
        using var cts = new CancellationTokenSource(Patience);
        await using var learner = await RedisWeightStore.ConnectAsync(Options("reuse"), null, cts.Token);
        await learner.PublishAsync(Snapshot(5, 10), cts.Token);

        var same = await Assert.ThrowsAsync<InvalidOperationException>(() => learner.PublishAsync(Snapshot(5, 10), cts.Token).AsTask());
        await Assert.ThrowsAsync<InvalidOperationException>(() => learner.PublishAsync(Snapshot(4, 10), cts.Token).AsTask());

        Assert.Contains("never reused", same.Message);
        Assert.Equal(5, learner.LatestVersion);
    }

    [Fact]
    public async Task ARefusedPublishLeavesThePublishedSnapshotUntouched()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("refused-untouched");
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var reader = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var original = new WeightSnapshot(7, Enumerable.Range(0, 50).Select(i => (float)i).ToArray());
        await learner.PublishAsync(original, cts.Token);

        var impostor = new WeightSnapshot(7, Enumerable.Range(0, 50).Select(i => -1f).ToArray());
        await Assert.ThrowsAsync<InvalidOperationException>(() => learner.PublishAsync(impostor, cts.Token).AsTask());
        var loaded = await reader.TryGetNewerAsync(-1, cts.Token);

        Assert.NotNull(loaded);
        Assert.Equal(original.Values, loaded.Values);
        Assert.Equal(0, reader.RejectedSnapshots);
    }

    [Fact]
    public async Task AVersionLeftHalfPublishedByADeadLearnerIsPublishedByItsSuccessor()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("half-published");
        options.ChunkBytes = 64; // several chunks: the claim / chunks / commit path
        await using var dead = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await dead.PublishAsync(Snapshot(2, 100), cts.Token);
        // The dead learner had claimed version 3 and written one chunk, then died before its commit.
        await Raw(async db =>
        {
            await db.SortedSetAddAsync(Keys(options).Versions, "3:7", 3);
            await db.StringSetAsync(Keys(options).Chunk(3, 0), new byte[64]);
        });

        await using var successor = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var next = Snapshot(successor.LatestVersion + 1, 100);
        await successor.PublishAsync(next, cts.Token);
        var loaded = await dead.TryGetNewerAsync(2, cts.Token);

        Assert.Equal(3, next.Version);
        Assert.NotNull(loaded);
        Assert.Equal(next.Values, loaded.Values);
    }

    [Fact]
    public async Task AReaderWaitingForAHintWakesWhenANewVersionIsPublished()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("hint");
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var actor = await RedisWeightStore.ConnectAsync(options, null, cts.Token);

        Assert.False(await actor.WaitForHintAsync(TimeSpan.FromMilliseconds(50), cts.Token));
        var wait = actor.WaitForHintAsync(TimeSpan.FromSeconds(10), cts.Token);
        await learner.PublishAsync(Snapshot(1, 10), cts.Token);

        Assert.True(await wait);
        Assert.Equal(1, actor.LatestVersion);
    }

    [Fact]
    public async Task AnOnPolicyWaitForANewerVersionEndsAtOnceWhenItWasAlreadyHintedAndOtherwiseOnTheHint()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options($"wait-above-{Guid.NewGuid():N}");
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var runner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);

        await learner.PublishAsync(Snapshot(1, 10), cts.Token);
        Assert.Equal(1, await runner.RefreshLatestVersionAsync(cts.Token));
        // v1 is known: nothing newer, the wait times out.
        Assert.False(await runner.WaitForVersionAboveAsync(1, TimeSpan.FromMilliseconds(50), cts.Token));
        // The runner acted with v0 while v1 was already announced: no wait at all.
        var clock = global::System.Diagnostics.Stopwatch.StartNew();
        Assert.True(await runner.WaitForVersionAboveAsync(0, TimeSpan.FromSeconds(10), cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        // Waiting above v1: the v2 hint ends it.
        var wait = runner.WaitForVersionAboveAsync(1, TimeSpan.FromSeconds(10), cts.Token);
        await learner.PublishAsync(Snapshot(2, 10), cts.Token);
        Assert.True(await wait);
        Assert.Equal(2, runner.LatestVersion);
    }

    [Fact]
    public async Task AHostNameInTheConfigurationIsResolvedByTheClient()
    {
        // Kubernetes hands out service names; the client must connect to a DNS endpoint, not only to an IP address.
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("hostname");
        options.Configuration = options.Configuration.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        Assert.StartsWith("localhost:", options.Configuration);
        await using var store = await RedisWeightStore.ConnectAsync(options, null, cts.Token);

        await store.PublishAsync(Snapshot(1, 20), cts.Token);

        Assert.Equal(1, await store.RefreshLatestVersionAsync(cts.Token));
    }

    [Fact]
    public async Task APasswordProtectedRedisIsUsedWithThePasswordAndRefusedWithout()
    {
        using var cts = new CancellationTokenSource(Patience);
        await using var secured = await LocalRedis.StartAsync(password: "s3cret-for-tests");
        var options = new RedisOptions { Configuration = secured.Configuration, KeyPrefix = "rlmesh:auth", ConnectTimeout = TimeSpan.FromSeconds(2) };

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var refused = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        });

        options.Password = "s3cret-for-tests";
        await using var store = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await store.PublishAsync(Snapshot(1, 100), cts.Token);
        Assert.Equal(Snapshot(1, 100).Values, (await store.TryGetNewerAsync(0, cts.Token))?.Values);
    }

    private RedisOptions Options(string test) => new()
    {
        Configuration = redis.Configuration,
        KeyPrefix = $"rlmesh:{Samples.UniqueName(test)}",
    };

    private static RedisKeyspace Keys(RedisOptions options) => new(options.KeyPrefix);

    private static WeightSnapshot Snapshot(long version, int parameters)
    {
        var values = new float[parameters];
        for (int i = 0; i < values.Length; i++)
            values[i] = MathF.Sin(i * 0.37f + version);
        return new WeightSnapshot(version, values);
    }

    /// <summary>Direct access for tests that damage or inspect keys behind the store's back.</summary>
    private async Task Raw(Func<IDatabase, Task> action)
    {
        var configuration = ConfigurationOptions.Parse(redis.Configuration);
        using var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        await action(connection.GetDatabase());
    }
}
