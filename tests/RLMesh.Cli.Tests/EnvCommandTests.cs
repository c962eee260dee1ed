using System.Globalization;
using System.IO.Compression;
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

    [Theory]
    [InlineData("MinAtar/Breakout-v1", "scripted", 0)]
    [InlineData("MinAtar/Seaquest-v0", "random", 1)]
    [InlineData("MinAtar/Asterix-v1", "scripted", 2)]
    public void SeededTraceReproducesAMinAtarReferenceRecordAcrossItsEpisodes(string envId, string policy, int seed)
    {
        var record = MinAtarRecord(envId, policy, seed);
        var episodes = record.GetProperty("episodes").EnumerateArray().ToList();
        var actions = episodes.SelectMany(e => e.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("a").GetInt32())).ToList();
        var result = CliRunner.Run("env", "trace", "--env", envId, "--seed", seed.ToString(CultureInfo.InvariantCulture),
            "--actions", string.Join(',', actions), "--obs-format", "packed");
        Assert.Equal(0, result.ExitCode);

        // Expected: reset(seed), each episode's steps, and between episodes the unseeded reset that followed.
        var expected = new List<(bool Reset, string Obs, JsonElement? Step)> { (true, record.GetProperty("reset_obs").GetString()!, null) };
        for (int e = 0; e < episodes.Count; e++)
        {
            foreach (var step in episodes[e].GetProperty("steps").EnumerateArray()) expected.Add((false, step.GetProperty("obs").GetString()!, step));
            if (e < episodes.Count - 1) expected.Add((true, episodes[e].GetProperty("next_reset_obs").GetString()!, null));
        }
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var ours = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(expected[i].Obs, ours.GetProperty("obs").GetString());
            if (expected[i].Step is JsonElement step)
            {
                Assert.False(ours.TryGetProperty("reset", out _), $"line {i} should be a step");
                Assert.Equal(step.GetProperty("r").GetDouble(), ours.GetProperty("reward").GetDouble());
                Assert.Equal(step.GetProperty("term").GetBoolean(), ours.GetProperty("terminated").GetBoolean());
                Assert.False(ours.GetProperty("truncated").GetBoolean());
            }
            else
            {
                Assert.True(ours.GetProperty("reset").GetBoolean(), $"line {i} should be a reset");
            }
        }
    }

    [Fact]
    public void SeededTraceWorksForClassicControlWithJsonObservations()
    {
        // Always pushing left ends a CartPole episode well within 60 steps: a reset line follows it.
        var result = CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--seed", "3", "--actions", string.Join(',', Enumerable.Repeat("0", 60)));
        Assert.Equal(0, result.ExitCode);
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(lines[0].GetProperty("reset").GetBoolean());
        Assert.Equal(4, lines[0].GetProperty("obs").GetArrayLength());
        int end = lines.FindIndex(l => l.TryGetProperty("terminated", out var t) && t.GetBoolean());
        Assert.InRange(end, 1, 59);
        Assert.True(lines[end + 1].GetProperty("reset").GetBoolean());
        Assert.Equal(60 + lines.Count(l => l.TryGetProperty("reset", out _)), lines.Count);
        // The same seed gives the same trace.
        Assert.Equal(result.StdOut, CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--seed", "3", "--actions", string.Join(',', Enumerable.Repeat("0", 60))).StdOut);
    }

    [Theory]
    [InlineData("unknown id", "--env", "MinAtar/Pong-v1", "--seed", "0", "--actions", "0")]
    [InlineData("action outside the space", "--env", "MinAtar/Breakout-v1", "--seed", "0", "--actions", "0,3")]
    [InlineData("seed and state together", "--env", "CartPole-v1", "--seed", "0", "--state", "0,0,0,0", "--actions", "0")]
    [InlineData("neither seed nor state", "--env", "CartPole-v1", "--actions", "0")]
    [InlineData("a state for a stateless env", "--env", "MinAtar/Freeway-v1", "--state", "1", "--actions", "0")]
    [InlineData("an unknown format", "--env", "MinAtar/Freeway-v1", "--seed", "0", "--actions", "0", "--obs-format", "hex")]
    [InlineData("packed floats", "--env", "CartPole-v1", "--seed", "0", "--actions", "0", "--obs-format", "packed")]
    [InlineData("a negative seed", "--env", "MinAtar/Freeway-v1", "--seed", "-1", "--actions", "0")]
    public void BadTraceInputIsAUsageError(string why, params string[] args)
    {
        var result = CliRunner.Run(["env", "trace", .. args]);
        Assert.True(result.ExitCode == 2, $"{why}: exit code {result.ExitCode}");
        Assert.NotEmpty(result.StdErr);
        Assert.Empty(result.StdOut);
    }

    [Fact]
    public void EnvListShowsTheMinAtarGames()
    {
        var result = CliRunner.Run("env", "list");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("MinAtar/SpaceInvaders-v1", result.StdOut);
        Assert.Contains("Box(0, 1, (10, 10, 10), uint8)", result.StdOut);
        Assert.Contains("max_episode_steps none", result.StdOut);
    }

    /// <summary>One record of MinAtar's reference file (shared/reference/minatar, else the repository's copy).</summary>
    private static JsonElement MinAtarRecord(string envId, string policy, int seed)
    {
        string? path = null;
        foreach (var relative in new[] { Path.Combine("shared", "reference", "minatar"), Path.Combine("tests", "reference", "minatar") })
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && path is null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative, "trajectories.jsonl.gz");
                if (File.Exists(candidate)) path = candidate;
            }
            if (path is not null) break;
        }
        Assert.True(path is not null, "no shared/reference/minatar or tests/reference/minatar above the test directory");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path!), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            var root = JsonDocument.Parse(line).RootElement;
            if (root.GetProperty("env_id").GetString() == envId && root.GetProperty("policy").GetString() == policy && root.GetProperty("seed").GetInt32() == seed)
                return root.Clone();
        }
        Assert.Fail($"the reference has no {envId} {policy} record for seed {seed}");
        return default;
    }
}
