using Xunit;
using Microsoft.Extensions.Configuration;
using RLMesh.Core.Data;
using RLMesh.Hosting;
using RLMesh.Messaging.Codec;
using RLMesh.Replay;

namespace RLMesh.Cli.Tests;

public class DistributedCommandTests
{
    [Fact]
    public void RunWithAnUnknownRoleIsAUsageError()
    {
        var result = CliRunner.Run("run", "conductor");
        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public void RunWithABrokerThatIsNotAmqpIsAUsageErrorNamingTheKey()
    {
        var result = CliRunner.Run("run", "learner", "--broker", "http://localhost:5672");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Broker must be an amqp:// URI", result.StdErr);
    }

    [Fact]
    public void LaunchWithAMissingConfigFileIsAUsageError()
    {
        var result = CliRunner.Run("launch", "--config", "/nonexistent/rlmesh.yaml");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("does not exist", result.StdErr);
    }

    [Fact]
    public void FlagsOverrideTheConfigFileWhichOverridesEnvironmentVariablesWhichOverrideDefaults()
    {
        var file = Path.Combine(Path.GetTempPath(), $"rlmesh-precedence-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{ "Run": "from-file", "Seed": 7, "Runner": { "Envs": 8 } }""");
        string[] variables = ["RLMESH_RUN", "RLMESH_SEED", "RLMESH_UNROLLLENGTH"];
        try
        {
            Environment.SetEnvironmentVariable("RLMESH_RUN", "from-env");
            Environment.SetEnvironmentVariable("RLMESH_SEED", "3");
            Environment.SetEnvironmentVariable("RLMESH_UNROLLLENGTH", "33");
            var configuration = new ConfigurationBuilder();
            configuration.AddRLMeshConfiguration(file, new Dictionary<string, string?> { ["Run"] = "from-flag" });
            var built = configuration.Build();
            var cluster = built.Get<ClusterOptions>()!;

            Assert.Equal("from-flag", cluster.Run);    // flag beats file and env
            Assert.Equal(7UL, cluster.Seed);           // file beats env
            Assert.Equal(33, cluster.UnrollLength);    // env beats default
            Assert.Equal("CartPole-v1", cluster.Env);  // default
            Assert.Equal("8", built["Runner:Envs"]);
        }
        finally
        {
            foreach (var v in variables)
                Environment.SetEnvironmentVariable(v, null);
            File.Delete(file);
        }
    }

    [Fact]
    public void AYamlConfigFileBindsNestedSections()
    {
        var values = YamlConfiguration.Flatten("""
            run: yaml-run
            learner:
              maxFrames: 2000000
              checkpointDir: /data/ckpt
            """);
        var built = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        Assert.Equal("yaml-run", built.Get<ClusterOptions>()!.Run);
        Assert.Equal("2000000", built["Learner:MaxFrames"]);
        Assert.Equal("/data/ckpt", built["learner:checkpointdir"]);
    }

    [Fact]
    public void FifoBatchesConcatenateEveryBUnrollsInArrivalOrderAndRefuseOtherShapes()
    {
        var builder = new FifoBatchBuilder(2);
        var a = new Trajectory(20, 16, 4, 1, 2) { PolicyVersion = 5, Source = "a" };
        var b = new Trajectory(20, 16, 4, 1, 2) { PolicyVersion = 3, Source = "b" };
        var c = new Trajectory(20, 16, 4, 1, 2) { PolicyVersion = 9, Source = "c" };
        a.Rewards[0] = 1;
        b.Rewards[0] = 2;

        Assert.True(builder.Add(a));
        Assert.False(builder.TryTake(out _));
        Assert.True(builder.Add(b));
        Assert.False(builder.Add(new Trajectory(10, 16, 4, 1, 2)));
        Assert.True(builder.Add(c));
        Assert.True(builder.TryTake(out var batch));
        Assert.Equal(32, batch.Envs);
        Assert.Equal(3, batch.PolicyVersion); // the oldest policy in the batch
        Assert.Equal(1f, batch.Rewards[0]);
        Assert.Equal(2f, batch.Rewards[16]);
        Assert.Equal(1, builder.Pending);
        Assert.False(builder.TryTake(out _));
    }

    [Fact]
    public void OnPolicyBatchesHoldOneVersionAndDropUnrollsOlderThanTheNewestSeen()
    {
        var builder = new OnPolicyBatchBuilder(2);
        Trajectory Unroll(string source, long version) => new(20, 16, 4, 1, 2) { PolicyVersion = version, Source = source };

        Assert.True(builder.Add(Unroll("a", 5)));
        Assert.True(builder.Add(Unroll("b", 6)));        // newer: the pending v5 unroll can never train any more
        Assert.Equal(1, builder.Dropped);
        Assert.Equal(("a", 5L, 6L), builder.LastDropped);
        Assert.False(builder.TryTake(out _));
        Assert.True(builder.Add(Unroll("c", 5)));        // a late v5 unroll (a runner restarted from an older version)
        Assert.Equal(2, builder.Dropped);
        Assert.False(builder.TryTake(out _));
        Assert.True(builder.Add(Unroll("a", 6)));
        Assert.True(builder.TryTake(out var batch));
        Assert.Equal(6, batch.PolicyVersion);
        Assert.Equal(["b", "a"], batch.Segments.Select(s => s.Source));
        Assert.All(batch.Segments, s => Assert.Equal(6, s.PolicyVersion));

        // Surplus unrolls of the current version wait for the next batch of that version (liveness when a batch is lost) ...
        Assert.True(builder.Add(Unroll("c", 6)));
        Assert.Equal(1, builder.Pending);
        // ... and go as soon as a newer version shows up.
        Assert.True(builder.Add(Unroll("a", 7)));
        Assert.Equal(3, builder.Dropped);
        Assert.Equal(1, builder.Pending);
        Assert.False(builder.Add(new Trajectory(10, 16, 4, 1, 2) { PolicyVersion = 7 }));
    }

    [Fact]
    public void OnPolicyBatchesOfWireFormsMatchTheDecodedOnes()
    {
        IEncodedBatchBuilder builder = new OnPolicyBatchBuilder(2);
        EncodedUnroll Unroll(string source, long version) =>
            EncodedUnroll.FromTrajectory(new Trajectory(4, 2, 4, 1, 2) { PolicyVersion = version, Source = source });

        Assert.True(builder.Add(Unroll("a", 3)));
        Assert.True(builder.Add(Unroll("b", 2)));        // older than the newest seen: dropped, not refused
        Assert.Equal(1, ((OnPolicyBatchBuilder)builder).Dropped);
        Assert.False(builder.TryTake(out _));
        Assert.True(builder.Add(Unroll("b", 3)));
        Assert.True(builder.TryTake(out var batch));
        var decoded = batch.ToTrajectory();
        Assert.Equal(3, decoded.PolicyVersion);
        Assert.Equal(["a", "b"], decoded.Segments.Select(s => s.Source));
    }

    [Fact]
    public void PpoIsAValidClusterAlgorithmAndMakesTheRunOnPolicy()
    {
        Assert.Empty(new ClusterOptions { Algorithm = "ppo" }.Validate());
        Assert.True(new ClusterOptions { Algorithm = "PPO" }.Synchronous);
        Assert.False(new ClusterOptions { Algorithm = "impala" }.Synchronous);
        Assert.Contains(new ClusterOptions { Algorithm = "dqn" }.Validate(), e => e.Contains("impala, impact, ppo, vmpo"));
        Assert.Contains(new ClusterOptions { Algorithm = "ppo", Mode = "central-inference" }.Validate(),
            e => e.Contains("on-policy") && e.Contains("Mode actors"));
    }

    [Fact]
    public void LaunchPpoWithABatchThatIsNotOneUnrollPerRunnerIsAUsageError()
    {
        var result = CliRunner.Run("launch", "--algo", "ppo", "--runners", "4", "--batch-unrolls", "2");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("must equal --runners (4)", result.StdErr);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("20")]
    public void LaunchWithARunnerNicenessOutsideZeroToNineteenIsAUsageError(string nice)
    {
        var result = CliRunner.Run("launch", "--runner-nice", nice);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--runner-nice must be between 0 and 19", result.StdErr);
    }

    [Fact]
    public void LaunchPpoInCentralInferenceModeIsAUsageError()
    {
        var result = CliRunner.Run("launch", "--algo", "ppo", "--mode", "central-inference");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("on-policy", result.StdErr);
    }

    [Theory]
    [InlineData("CartPole-v1", "impala")]
    [InlineData("CartPole-v1", "ppo")]
    [InlineData("Acrobot-v1", "impact")]
    [InlineData("Pendulum-v1", "vmpo")]
    public void RunnersBuildExactlyTheLearnersNetwork(string env, string algorithm)
    {
        var cluster = new ClusterOptions { Env = env, Algorithm = algorithm, Hidden = "32,16" };
        var learner = RLMesh.Core.Runtime.PolicyFactory.SpecFor(new RLMesh.Learner.LearnerOptions().ToTrainingOptions(cluster));
        var runner = cluster.PolicySpec();
        Assert.Equal(learner.Hidden, runner.Hidden);
        Assert.Equal(learner.Head, runner.Head);
        Assert.Equal(learner.InputScale, runner.InputScale); // observation scaling is part of the policy, not of the weights
        Assert.Equal(learner.InputShift, runner.InputShift);
        Assert.Equal(learner.ObservationSize, runner.ObservationSize);
    }
}
