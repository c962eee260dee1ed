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
}
