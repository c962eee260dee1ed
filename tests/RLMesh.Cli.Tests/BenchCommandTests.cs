using System.Text.Json;
using Xunit;

namespace RLMesh.Cli.Tests;

/// <summary>The bench commands print their figures as JSON on the last line; the figures themselves are not asserted.</summary>
public class BenchCommandTests
{
    [Theory]
    [InlineData("env", "steps_per_second")]
    [InlineData("infer", "us_per_call_batch1")]
    [InlineData("infer", "us_per_call_batch64")]
    [InlineData("learner", "ms_per_update")]
    public void BenchPrintsItsFigureAsJsonOnTheLastLine(string what, string key)
    {
        var result = CliRunner.Run("bench", what, "--json", "--seconds", "0.2");
        Assert.True(result.ExitCode == 0, result.StdErr);
        var last = result.StdOut.TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        Assert.True(json.RootElement.GetProperty(key).GetDouble() > 0);
    }

    [Fact]
    public void BenchEnvMeasuresTheNamedEnvironment()
    {
        var result = CliRunner.Run("bench", "env", "--env", "MinAtar/Seaquest-v0", "--json", "--seconds", "0.2");
        Assert.True(result.ExitCode == 0, result.StdErr);
        using var json = JsonDocument.Parse(result.StdOut.TrimEnd().Split('\n')[^1]);
        Assert.Equal("MinAtar/Seaquest-v0", json.RootElement.GetProperty("env").GetString());
        Assert.True(json.RootElement.GetProperty("steps_per_second").GetDouble() > 0);
        Assert.Equal(2, CliRunner.Run("bench", "env", "--env", "MinAtar/Pong-v0", "--seconds", "0.1").ExitCode);
    }

    [Fact]
    public void BenchLearnerTimesTheNamedAlgorithmOnTheGivenBatchShape()
    {
        var result = CliRunner.Run("bench", "learner", "--algo", "impact", "--unroll-length", "10", "--batch-envs", "8", "--json", "--seconds", "0.2");
        Assert.True(result.ExitCode == 0, result.StdErr);
        using var json = JsonDocument.Parse(result.StdOut.TrimEnd().Split('\n')[^1]);
        Assert.Equal("impact", json.RootElement.GetProperty("algo").GetString());
        Assert.Equal("T=10 x B=8", json.RootElement.GetProperty("batch").GetString());
        Assert.True(json.RootElement.GetProperty("samples_per_second").GetDouble() > 0);
    }

    [Theory]
    [InlineData("--algo", "a2c", "unknown algorithm 'a2c'")]
    [InlineData("--unroll-length", "0", "must be positive")]
    public void BenchLearnerRefusesBadFlagsWithExitCodeTwo(string flag, string value, string message)
    {
        var result = CliRunner.Run("bench", "learner", flag, value, "--seconds", "0.1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr);
    }
}
