using System.Text.Json;
using Xunit;

namespace RLMesh.Cli.Tests;

public class TrainCommandTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "rlmesh-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    [Fact]
    public void ShortTrainingRunWritesEveryOutputAndTheCheckpointEvaluates()
    {
        var train = CliRunner.Run("train", "--env", "CartPole-v1", "--max-frames", "30000", "--seed", "3", "--out", _out, "--progress", "plain");
        Assert.True(train.ExitCode == 0, train.StdErr);
        Assert.Contains("frames", train.StdOut);

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, "summary.json")));
        var root = summary.RootElement;
        Assert.Equal("CartPole-v1", root.GetProperty("env").GetString());
        Assert.Equal("impala", root.GetProperty("algo").GetString());
        Assert.Equal(3UL, root.GetProperty("seed").GetUInt64());
        Assert.True(root.GetProperty("frames").GetInt64() >= 30000);
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        Assert.True(root.GetProperty("frames_per_second").GetDouble() > 0);
        foreach (var key in new[] { "solved", "frames_to_solve", "seconds_to_solve", "final_mean_return" })
            Assert.True(root.TryGetProperty(key, out _), $"summary.json lacks '{key}'");
        if (!root.GetProperty("solved").GetBoolean())
            Assert.Equal(JsonValueKind.Null, root.GetProperty("frames_to_solve").ValueKind);

        var csv = File.ReadAllLines(Path.Combine(_out, "metrics.csv"));
        Assert.StartsWith("seconds,frames,", csv[0]);
        Assert.True(csv.Length >= 2, "metrics.csv has no rows");

        var svg = File.ReadAllText(Path.Combine(_out, "learning-curve.svg"));
        Assert.StartsWith("<svg", svg);
        Assert.Contains("</svg>", svg);

        var eval = CliRunner.Run("eval", "--checkpoint", Path.Combine(_out, "checkpoint.rlmckpt"), "--episodes", "3");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        Assert.Contains("mean return over 3 greedy episodes on CartPole-v1", eval.StdOut);
    }

    [Fact]
    public void CorruptCheckpointIsRefusedWithAUsageError()
    {
        Directory.CreateDirectory(_out);
        string path = Path.Combine(_out, "broken.rlmckpt");
        File.WriteAllBytes(path, "RLMCKPT1 but then garbage that is long enough to pass the length check"u8.ToArray());
        var eval = CliRunner.Run("eval", "--checkpoint", path);
        Assert.Equal(2, eval.ExitCode);
        Assert.Contains("checksum", eval.StdErr);
    }

    [Theory]
    [InlineData("--actors", "0")]
    [InlineData("--envs-per-actor", "-3")]
    [InlineData("--hidden", "64,x")]
    [InlineData("--optimizer", "sgd")]
    [InlineData("--algo", "dqn")]
    [InlineData("--lr", "-1")]
    [InlineData("--max-frames", "0")]
    [InlineData("--no-such-flag", "1")]
    [InlineData("--seed", "minus-one")]
    public void BadFlagsAreUsageErrors(string flag, string value)
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rlmesh:", result.StdErr);
    }

    [Fact]
    public void TrainingAnUnknownEnvironmentIsAUsageError()
    {
        var result = CliRunner.Run("train", "--env", "Pong-v5");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Pong-v5", result.StdErr);
    }

    [Fact]
    public void ImpossibleBatchIsAUsageError()
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--actors", "1", "--batch-unrolls", "50");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("batch-unrolls", result.StdErr);
    }

    [Theory]
    [InlineData("impact")]
    [InlineData("ppo")]
    [InlineData("vmpo")]
    public void EveryAlgorithmTrainsFromTheCommandLineAndRecordsItsName(string algo)
    {
        var train = CliRunner.Run("train", "--env", "CartPole-v1", "--algo", algo, "--max-frames", "20000", "--out", _out, "--progress", "plain");
        Assert.True(train.ExitCode == 0, train.StdErr);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, "summary.json")));
        Assert.Equal(algo, summary.RootElement.GetProperty("algo").GetString());
        Assert.True(summary.RootElement.GetProperty("frames").GetInt64() >= 20000);
    }

    [Theory]
    [InlineData("embedded", null, 2 * 4 * 10)] // IMPACT's embedded shape: 2 unrolls x 4 envs x T 10
    [InlineData("central-inference", null, 2 * 16 * 10)] // a round trip per step: at least 16 envs per runner
    [InlineData("central-inference", "4", 2 * 4 * 10)] // unless the user says otherwise
    public void ImpactsBatchShapeFollowsTheModeUnlessEnvsPerActorIsGiven(string mode, string? envs, int batchFrames)
    {
        // One batch is more than --max-frames 1, so the run stops after exactly one batch's frames.
        string[] args = ["train", "--env", "CartPole-v1", "--algo", "impact", "--mode", mode, "--max-frames", "1", "--out", _out, "--progress", "plain"];
        var train = CliRunner.Run(envs is null ? args : [.. args, "--envs-per-actor", envs]);
        Assert.True(train.ExitCode == 0, train.StdErr);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, "summary.json")));
        Assert.Equal(batchFrames, summary.RootElement.GetProperty("frames").GetInt64());
    }

    [Fact]
    public void PpoWithMoreUnrollsPerBatchThanActorsIsAUsageError()
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--batch-unrolls", "3");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--batch-unrolls must equal --actors", result.StdErr);
    }

    [Fact]
    public void AnEntropyCostForVmpoIsAUsageError()
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--algo", "vmpo", "--entropy-cost", "0.01");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("vmpo", result.StdErr);
    }

    [Theory]
    [InlineData("--algos", "dqn")]
    [InlineData("--seeds", "one")]
    [InlineData("--envs", "Pong-v5")]
    public void BadBenchAlgosFlagsAreUsageErrors(string flag, string value)
    {
        var result = CliRunner.Run("bench", "algos", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rlmesh:", result.StdErr);
    }
}
