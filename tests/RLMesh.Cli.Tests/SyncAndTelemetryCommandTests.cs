using System.Text.Json;
using Xunit;

namespace RLMesh.Cli.Tests;

public class SyncAndTelemetryCommandTests
{
    [Theory]
    [InlineData("--sync", "sometimes")]
    [InlineData("--sync-k", "3")]                      // every-k flag with the default every-unroll
    [InlineData("--aps-tau", "0.1")]                   // aps flag with every-unroll
    [InlineData("--aps-max-lag", "4")]
    [InlineData("--staleness-target", "8")]            // aps-adaptive flag with every-unroll
    [InlineData("--prometheus-url", "http://127.0.0.1:9090/")]
    [InlineData("--metrics-port", "70000")]
    public void SyncAndTelemetryFlagsOutsideTheirModeAreUsageErrors(string flag, string value)
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rlmesh:", result.StdErr);
    }

    [Theory]
    [InlineData("every-k", "--sync-k", "0")]
    [InlineData("aps", "--aps-tau", "-0.5")]
    [InlineData("aps", "--staleness-target", "4")]
    [InlineData("aps-adaptive", "--staleness-target", "0")]
    [InlineData("every-k", "--aps-tau", "0.1")]
    public void ImpossibleSyncValuesAreUsageErrors(string mode, string flag, string value)
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--sync", mode, flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(flag, result.StdErr);
    }

    [Fact]
    public void MetricsCatalogPrintsOneRowPerCatalogMetric()
    {
        var result = CliRunner.Run("metrics", "catalog");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("| name | type | unit | labels | help |", result.StdOut);
        Assert.Contains("| `rlmesh_policy_lag_versions` | histogram", result.StdOut);
        Assert.Equal(2 + RLMesh.Telemetry.MetricCatalog.All.Count, result.StdOut.Trim().Split('\n').Length);
    }

    [Fact]
    public void BenchApsComparesEveryModeAndReportsPullsAsJson()
    {
        var result = CliRunner.Run("bench", "aps", "--seeds", "1", "--taus", "0.05", "--max-frames", "20000", "--json");
        Assert.True(result.ExitCode == 0, result.StdErr);
        using var json = JsonDocument.Parse(result.StdOut.Trim().Split('\n')[^1]);
        var averages = json.RootElement.GetProperty("averages").EnumerateArray().ToList();
        Assert.Equal(["every-unroll", "every-k k=4", "aps tau=0.05"], averages.Select(a => a.GetProperty("config").GetString()));
        Assert.All(averages, a => Assert.True(a.GetProperty("weight_pulls").GetDouble() >= 1));
        var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.True(r.GetProperty("bytes_moved").GetInt64() > 0));
    }

    [Theory]
    [InlineData("--seeds", "0")]
    [InlineData("--taus", "0.1,x")]
    [InlineData("--env", "Pong-v5")]
    public void BadBenchApsFlagsAreUsageErrors(string flag, string value)
    {
        var result = CliRunner.Run("bench", "aps", flag, value);
        Assert.Equal(2, result.ExitCode);
    }
}
