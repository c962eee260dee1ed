using System.Text.Json;
using Google.Protobuf;
using RabbitMQ.Client;
using RLMesh.Core.Runtime;
using RLMesh.Messaging.Benchmarks;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using RLMesh.Messaging.Redis;
using StackExchange.Redis;

namespace RLMesh.System.Tests;

/// <summary>
/// Multi-process tests of the distributed mode: every role is its own `rlmesh run` process, talking only through a
/// real rabbitmq-server and redis-server. Frame budgets are small where solving is not the point; no test asserts
/// wall-clock times (the patience values only bound how long a failure takes to report).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ClusterFaultTests(ServersFixture servers, ITestOutputHelper log)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task AKilledRunnerLeavesTrainingRunningAndARestartedRunnerRejoins()
    {
        await using var cluster = new Cluster(servers, log, "runner-kill");
        cluster.StartAll(runners: 2);
        var before = await cluster.WaitForStatusAsync("both runners producing",
            s => Cluster.Runner(s, "runner-1").GetProperty("frames").GetInt64() > 0 && Cluster.LearnerFrames(s) > 20_000, Patience);

        var victim = cluster.Role("env-runner");
        victim.KillHard();
        var dead = await cluster.WaitForStatusAsync("the killed runner reported unhealthy",
            s => !Cluster.Runner(s, "runner-1").GetProperty("healthy").GetBoolean(), Patience);
        await cluster.WaitForStatusAsync("training continues without it",
            s => Cluster.LearnerFrames(s) > Cluster.LearnerFrames(dead) + 20_000, Patience);

        long versionAtRestart = Cluster.Latest(dead);
        victim.Restart();
        await cluster.WaitForStatusAsync("the restarted runner rejoins with newer weights",
            s => Cluster.Runner(s, "runner-1") is var r && r.GetProperty("healthy").GetBoolean()
                 && r.GetProperty("version").GetInt64() > versionAtRestart, Patience);
        Assert.True(cluster.Role("learner").HasExited is false, cluster.Dump());
    }

    [Fact]
    public async Task AKilledLearnerResumesFromItsCheckpointWithAHigherVersionAndRunnersFollow()
    {
        await using var cluster = new Cluster(servers, log, "learner-kill");
        cluster.StartAll(runners: 2);
        await cluster.WaitForStatusAsync("a checkpoint written",
            s => s.GetProperty("learner").GetProperty("checkpoint_version").GetInt64() > 10, Patience);

        var learner = cluster.Role("learner");
        learner.KillHard();
        await Task.Delay(1500); // let the parameter server see the final latest
        var afterKill = await cluster.WaitForStatusAsync("latest after the kill", _ => true, Patience);
        long latestAtKill = Cluster.Latest(afterKill);

        learner.Restart();
        await cluster.WaitForStatusAsync("the restarted learner publishes beyond the old latest and runners follow",
            s => Cluster.Latest(s) > latestAtKill + 5
                 && s.GetProperty("runners").EnumerateArray().All(r => r.GetProperty("version").GetInt64() > latestAtKill),
            Patience);
        var output = learner.Output;
        Assert.Contains("Resumed from", output);
        var resumed = output.Split('\n').First(l => l.Contains("Resumed from", StringComparison.Ordinal));
        long continuedAt = long.Parse(resumed[(resumed.LastIndexOf("at v", StringComparison.Ordinal) + 4)..].Trim(), global::System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(continuedAt > latestAtKill, $"resumed at v{continuedAt}, but v{latestAtKill} was already published: {resumed}");
        Assert.DoesNotContain("never reused", output);
    }

    /// <summary>
    /// On-policy PPO must not deadlock: with a runner gone for good its unroll is missing from every batch, and the
    /// others, out of patience (Runner:VersionWaitSeconds), step again with the current version and fill the batches;
    /// a killed learner restarts at a new version that wakes the waiting runners, and it trains only on-policy after.
    /// </summary>
    [Fact]
    public async Task AnOnPolicyPpoClusterKeepsTrainingWithoutARunnerAndAfterALearnerRestart()
    {
        await using var cluster = new Cluster(servers, log, "ppo-faults", new Dictionary<string, string>
        {
            ["Algorithm"] = "ppo",
            ["Replay:BatchUnrolls"] = "3",
            ["Runner:VersionWaitSeconds"] = "1",
            ["Runner:Envs"] = "8",
        });
        cluster.StartAll(runners: 3);
        await cluster.WaitForStatusAsync("ppo training under way", s => Cluster.Latest(s) > 10, Patience);

        cluster.Role("env-runner").KillHard(); // runner-2, never restarted
        var dead = await cluster.WaitForStatusAsync("the killed runner reported unhealthy",
            s => !Cluster.Runner(s, "runner-2").GetProperty("healthy").GetBoolean(), Patience);
        await cluster.WaitForStatusAsync("versions keep coming from two runners' batches",
            s => Cluster.Latest(s) > Cluster.Latest(dead) + 3, Patience);

        var learner = cluster.Role("learner");
        learner.KillHard();
        await Task.Delay(1500);
        long latestAtKill = Cluster.Latest(await cluster.WaitForStatusAsync("latest after the kill", _ => true, Patience));
        learner.Restart();
        await cluster.WaitForStatusAsync("the restarted learner trains on and the runners follow",
            s => Cluster.Latest(s) > latestAtKill + 3
                 && s.GetProperty("runners").EnumerateArray().Where(r => r.GetProperty("healthy").GetBoolean())
                     .All(r => r.GetProperty("version").GetInt64() > latestAtKill),
            Patience);

        var stats = await Cluster.StatsAsync(learner);
        Assert.True(stats is not null, cluster.Dump());
        log.WriteLine($"learner: {stats}");
        // Batches redelivered to the restarted learner (older than its new version) are counted, never trained on.
        Assert.Equal(0.0, stats.Value.GetProperty("learner").GetProperty("rlmesh_policy_lag_versions").GetDouble());
        var survivor = cluster.Roles("env-runner")[0];
        var runnerStats = await Cluster.StatsAsync(survivor);
        Assert.True(runnerStats?.GetProperty("env-runner/runner-0").GetProperty("version_waits_expired_total").GetInt64() > 0,
            $"{runnerStats}\n{cluster.Dump()}");
        Assert.Contains("stepping again with the newest weights", survivor.Output);
        Assert.DoesNotContain("never reused", learner.Output);
    }

    [Fact]
    public async Task ServicesReconnectByThemselvesAfterRabbitMqRestartsAndTrainingResumes()
    {
        await using var cluster = new Cluster(servers, log, "broker-restart");
        cluster.StartAll(runners: 2);
        await cluster.WaitForStatusAsync("training under way", s => Cluster.LearnerFrames(s) > 20_000, Patience);

        await servers.Broker.StopAsync();
        await Task.Delay(3000);
        await servers.Broker.StartAsync();
        var restarted = await cluster.WaitForStatusAsync("status after the broker restart", _ => true, Patience);

        await cluster.WaitForStatusAsync("training resumes over the restarted broker",
            s => Cluster.LearnerFrames(s) > Cluster.LearnerFrames(restarted) + 40_000, TimeSpan.FromSeconds(120));
        foreach (var role in new[] { "learner", "replay", "env-runner", "parameter-server" })
            Assert.False(cluster.Role(role).HasExited, $"{role} exited:\n{cluster.Dump()}");
    }

    [Fact]
    public async Task GarbageAndNaNUnrollsAreDeadLetteredAndCountedAndNothingElseIsLost()
    {
        // The unroll queue holds all eight messages at once: this test is about dead-lettering, and with the default
        // bound of 4 a replay slowed by a busy machine made the broker refuse the test's own publishes.
        await using var cluster = new Cluster(servers, log, "poison", new Dictionary<string, string>
        {
            ["Replay:BatchUnrolls"] = "2", ["BatchQueueMaxLength"] = "8", ["UnrollQueueMaxLength"] = "16",
        });
        var replay = cluster.Start("replay");
        await WaitForAsync("replay ready", async () => await Cluster.StatsAsync(replay) is not null, replay, cluster);

        string unrolls = $"rlmesh.{cluster.Run}.unrolls";
        var factory = new ConnectionFactory { Uri = servers.Broker.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var good = TrajectoryCodec.Encode(TransportBenchmarks.RealisticUnroll(steps: 20, envs: 16));
        var nan = Unroll.Parser.ParseFrom(good);
        var observations = nan.Observations.ToByteArray();
        BitConverter.GetBytes(float.NaN).CopyTo(observations, 8);
        nan.Observations = ByteString.CopyFrom(observations);

        await channel.BasicPublishAsync(unrolls, unrolls, good);
        await channel.BasicPublishAsync(unrolls, unrolls, "definitely not protobuf"u8.ToArray());
        await channel.BasicPublishAsync(unrolls, unrolls, good);
        await channel.BasicPublishAsync(unrolls, unrolls, nan.ToByteArray());
        for (int i = 0; i < 4; i++)
            await channel.BasicPublishAsync(unrolls, unrolls, good);

        await WaitForAsync("two dead letters counted, three batches published", async () =>
            await Cluster.StatsAsync(replay) is { } s
            && s.GetProperty("replay").GetProperty("rlmesh_dead_letters_total{queue=unrolls}").GetInt64() == 2
            && s.GetProperty("replay").GetProperty("rlmesh_messages_published_total{queue=batches}").GetInt64() == 3, replay, cluster);
        var stats = (await Cluster.StatsAsync(replay))!.Value.GetProperty("replay");
        Assert.Equal(6, stats.GetProperty("rlmesh_messages_consumed_total{queue=unrolls}").GetInt64());
        Assert.Equal(2u, await MessageCountAsync(channel, $"{unrolls}.dlq"));
        Assert.Equal(3u, await MessageCountAsync(channel, $"rlmesh.{cluster.Run}.batches"));
        Assert.Contains("Dead-lettered invalid trajectory", replay.Output);
        Assert.False(replay.HasExited);
    }

    [Fact]
    public async Task ACorruptSnapshotChunkIsNeverLoadedAndThePreviousVersionStaysInUse()
    {
        // No replay here, so the unroll queue must drop rather than stall the runner.
        await using var cluster = new Cluster(servers, log, "corrupt", new Dictionary<string, string> { ["UnrollOverflow"] = "drop-head" });
        var prefix = $"rlmesh:{cluster.Run}";
        var keys = new RedisKeyspace(prefix);
        int parameters = CartPoleParameterCount;
        await using (var store = await RedisWeightStore.ConnectAsync(new RedisOptions { Configuration = servers.Redis.Configuration, KeyPrefix = prefix }, null, CancellationToken.None))
            await store.PublishAsync(new WeightSnapshot(0, Weights(parameters, 0.01f)), CancellationToken.None);
        var runner = cluster.Start("env-runner", "runner-0");
        await WaitForAsync("the runner loaded v0 and is stepping", async () =>
            await Cluster.StatsAsync(runner) is { } s && s.GetProperty("env-runner/runner-0") is var r
            && r.GetProperty("policy_version").GetInt64() == 0 && r.GetProperty("rlmesh_env_frames_total").GetInt64() > 0, runner, cluster);

        // v1 is written completely under a scratch prefix, then copied in with one chunk corrupted, then made latest.
        var scratch = $"{prefix}-scratch";
        await using (var store = await RedisWeightStore.ConnectAsync(new RedisOptions { Configuration = servers.Redis.Configuration, KeyPrefix = scratch }, null, CancellationToken.None))
            await store.PublishAsync(new WeightSnapshot(1, Weights(parameters, 0.02f)), CancellationToken.None);
        var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.Configuration);
        var db = redis.GetDatabase();
        var chunk = (byte[])(await db.StringGetAsync(new RedisKeyspace(scratch).Chunk(1, 0)))!;
        chunk[chunk.Length / 2] ^= 0xFF;
        await db.StringSetAsync(keys.Chunk(1, 0), chunk);
        await db.StringSetAsync(keys.Manifest(1), (byte[])(await db.StringGetAsync(new RedisKeyspace(scratch).Manifest(1)))!);
        await db.StringSetAsync(keys.Latest, "1");
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(keys.HintChannel), 1);

        long framesAtCorruption = (await Cluster.StatsAsync(runner))!.Value.GetProperty("env-runner/runner-0").GetProperty("rlmesh_env_frames_total").GetInt64();
        await WaitForAsync("the corrupt v1 refused while the runner keeps stepping on v0", async () =>
            await Cluster.StatsAsync(runner) is { } s && s.GetProperty("env-runner/runner-0") is var r
            && r.GetProperty("rlmesh_snapshots_rejected_total").GetInt64() > 0
            && r.GetProperty("rlmesh_env_frames_total").GetInt64() > framesAtCorruption + 10_000, runner, cluster);
        var stats = (await Cluster.StatsAsync(runner))!.Value.GetProperty("env-runner/runner-0");
        Assert.Equal(0, stats.GetProperty("policy_version").GetInt64());
        Assert.Contains("Refusing weights", runner.Output);
        Assert.Contains("SHA-256", runner.Output);
        redis.Dispose();
    }

    private const int CartPoleParameterCount = 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2 + 64 + 1;

    private static float[] Weights(int count, float value) => Enumerable.Repeat(value, count).ToArray();

    private static async Task<uint> MessageCountAsync(IChannel channel, string queue) =>
        (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;

    private static async Task WaitForAsync(string what, Func<Task<bool>> condition, RoleProcess process, Cluster cluster)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                Assert.Fail($"{process.Role} exited while waiting for: {what}\n{cluster.Dump()}");
            try
            {
                if (await condition())
                    return;
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
            {
            }
            await Task.Delay(250);
        }
        Assert.Fail($"timed out waiting for: {what}\n{cluster.Dump()}");
    }
}
