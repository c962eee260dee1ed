using System.Globalization;
using System.Text.Json;
using Xunit;

namespace RLMesh.Cli.Tests;

public class EnvCommandTests
{
    [Fact]
    public void EnvListShowsEveryEnvironmentWithItsSpaces()
    {
        var result = CliRunner.Run("env", "list");
        Assert.Equal(0, result.ExitCode);
        foreach (var id in new[] { "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0" })
            Assert.Contains(id, result.StdOut);
        Assert.Contains("Discrete(2)", result.StdOut);
        Assert.Contains("Box(", result.StdOut);
    }

    [Fact]
    public void UnknownEnvironmentIsAUsageError()
    {
        var result = CliRunner.Run("env", "trace", "--env", "CartPole-v9", "--state", "0,0,0,0", "--actions", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("CartPole-v9", result.StdErr);
        Assert.Contains("CartPole-v1", result.StdErr); // the message lists the known ids
    }

    [Fact]
    public void WrongStateLengthIsAUsageError()
    {
        var result = CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--state", "0,0,0", "--actions", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("4", result.StdErr);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("-1")]
    [InlineData("0.5")]
    [InlineData("left")]
    public void ActionOutsideTheSpaceIsAUsageError(string action)
    {
        var result = CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--state", "0,0,0,0", "--actions", action);
        Assert.Equal(2, result.ExitCode);
        Assert.NotEmpty(result.StdErr);
        Assert.Empty(result.StdOut);
    }

    [Fact]
    public void TraceReproducesGymnasiumCartPoleEpisode()
    {
        using var reader = new StreamReader(Path.Combine(CliRunner.GymReferenceDirectory(), "CartPole-v1.jsonl"));
        // Episode 39 terminates exactly on the TimeLimit step: both flags true on step 500.
        JsonElement record = default;
        for (int i = 0; i <= 39; i++) record = JsonDocument.Parse(reader.ReadLine()!).RootElement;

        string state = string.Join(',', record.GetProperty("initial_state").EnumerateArray().Select(v => v.GetDouble().ToString("R", CultureInfo.InvariantCulture)));
        string actions = string.Join(',', record.GetProperty("actions").EnumerateArray().Select(v => v.GetInt32().ToString(CultureInfo.InvariantCulture)));
        var result = CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--state", state, "--actions", actions);
        Assert.Equal(0, result.ExitCode);

        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var steps = record.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(steps.Count, lines.Length);
        for (int t = 0; t < steps.Count; t++)
        {
            var ours = JsonDocument.Parse(lines[t]).RootElement;
            var obs = ours.GetProperty("obs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var expected = steps[t].GetProperty("obs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(expected.Length, obs.Length);
            for (int k = 0; k < obs.Length; k++)
                Assert.True(Math.Abs(obs[k] - expected[k]) <= 1e-5 * Math.Max(1, Math.Abs(expected[k])), $"step {t} obs[{k}]: {obs[k]} vs {expected[k]}");
            Assert.Equal(steps[t].GetProperty("reward").GetDouble(), ours.GetProperty("reward").GetDouble());
            Assert.Equal(steps[t].GetProperty("terminated").GetBoolean(), ours.GetProperty("terminated").GetBoolean());
            Assert.Equal(steps[t].GetProperty("truncated").GetBoolean(), ours.GetProperty("truncated").GetBoolean());
        }
        var last = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.True(last.GetProperty("terminated").GetBoolean() && last.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public void TraceAcceptsContinuousActionsAndClipsLikeGymnasium()
    {
        // Pendulum hanging still at the bottom: theta = pi. A torque of 5 is clipped to 2, cost uses u = 2.
        var result = CliRunner.Run("env", "trace", "--env", "Pendulum-v1", "--state", "3.141592653589793,0", "--actions", "5");
        Assert.Equal(0, result.ExitCode);
        var step = JsonDocument.Parse(result.StdOut.Trim()).RootElement;
        double expectedReward = -(Math.PI * Math.PI + 0.001 * 4.0);
        Assert.Equal(expectedReward, step.GetProperty("reward").GetDouble(), 9);
    }
}
