using RLMesh.Core.Sync;
using RLMesh.Integration.Tests.Servers;
using RLMesh.Messaging.Redis;

namespace RLMesh.Integration.Tests;

[Collection(RedisCollection.Name)]
public sealed class RedisDivergenceBoardTests(RedisFixture redis)
{
    [Fact]
    public async Task DivergencePerRunnerAndTauRoundTripThroughRedis()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"rlmesh:{Samples.UniqueName("aps")}" };
        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        await using var runner = await RedisWeightStore.ConnectAsync(options, null, cts.Token);
        var learnerBoard = learner.CreateDivergenceBoard();
        var runnerBoard = runner.CreateDivergenceBoard();

        Assert.Null(await runnerBoard.ReadDivergenceAsync("runner-0", cts.Token));
        Assert.Null(await runnerBoard.ReadThresholdAsync(cts.Token));

        await learnerBoard.PublishDivergenceAsync("runner-0", new DivergenceReading(0.0123456789, 41, 57), cts.Token);
        await learnerBoard.PublishDivergenceAsync("runner-1", new DivergenceReading(1e-7, 3, 57), cts.Token);
        await learnerBoard.PublishThresholdAsync(0.05, cts.Token);

        Assert.Equal(new DivergenceReading(0.0123456789, 41, 57), await runnerBoard.ReadDivergenceAsync("runner-0", cts.Token));
        Assert.Equal(new DivergenceReading(1e-7, 3, 57), await runnerBoard.ReadDivergenceAsync("runner-1", cts.Token));
        Assert.Equal(0.05, await runnerBoard.ReadThresholdAsync(cts.Token));
    }
}
