using System.Globalization;
using RLMesh.Integration.Tests.Servers;
using RLMesh.Messaging.Benchmarks;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Redis;
using Xunit.Abstractions;

namespace RLMesh.Integration.Tests;

/// <summary>
/// Small by default so the suite stays quick; figures are printed, never asserted. For real numbers run by hand:
/// <c>RLMESH_BENCH_MESSAGES=20000 RLMESH_BENCH_ROUNDS=200 dotnet test tests/RLMesh.Integration.Tests -c Release
/// --filter Benchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqBenchmarkTests(RabbitMqFixture broker, ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Benchmark")]
    public async Task BenchmarkReportsUnrollThroughputWithConfirms()
    {
        int messages = BenchSetting("RLMESH_BENCH_MESSAGES", 300);
        var options = new RabbitMqOptions { Uri = broker.AmqpUri, RunName = Samples.UniqueName("bench"), ConfirmWindow = 256, Prefetch = 256 };
        var result = await TransportBenchmarks.MeasureTrajectoryQueueAsync(options, messages, CancellationToken.None);
        output.WriteLine(result.ToString());
    }

    internal static int BenchSetting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : fallback;
}

[Collection(RedisCollection.Name)]
public sealed class RedisBenchmarkTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Benchmark")]
    public async Task BenchmarkReportsSnapshotPublishToLoadLatency()
    {
        int rounds = RabbitMqBenchmarkTests.BenchSetting("RLMESH_BENCH_ROUNDS", 5);
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"rlmesh:{Samples.UniqueName("bench")}" };
        var result = await TransportBenchmarks.MeasureWeightStoreAsync(options, 1_000_000, rounds, CancellationToken.None);
        output.WriteLine(result.ToString());
    }
}
