using Xunit;
using Microsoft.Extensions.Configuration;
using RLMesh.Core.Data;
using RLMesh.Hosting;
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
}
