using System.Text.Json;
using Xunit;

namespace RLMesh.Cli.Tests;

public class NetworkFlagsTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "rlmesh-cli-net-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    [Theory]
    [InlineData("--net", "minatar", "minatar torso needs the torch backend")]
    [InlineData("--net", "nature", "nature torso needs the torch backend")]
    [InlineData("--lstm", "64", "LSTM core needs the torch backend")]
    public void TorchOnlyPresetsWithTheNativeBackendAreUsageErrors(string flag, string value, string message)
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--backend", "native", flag, value, "--max-frames", "100");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr);
    }

    [Fact]
    public void TheTorchBackendTrainsCartPole()
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--backend", "torch", "--max-frames", "2000", "--progress", "plain");
        Assert.True(result.ExitCode == 0, result.StdErr);
    }

    [Fact]
    public void AConvPresetOnVectorObservationsIsAUsageError()
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--net", "minatar", "--max-frames", "100");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the minatar torso needs image observations [height, width, channels], got [4]", result.StdErr);
    }

    [Theory]
    [InlineData("--backend", "cuda", "expected auto, native or torch")]
    [InlineData("--net", "resnet", "expected mlp, minatar or nature")]
    [InlineData("--lstm", "-1", "--lstm must be 0")]
    [InlineData("--observe", "0,9", "out of range")]
    [InlineData("--observe", "0,x", "is not an index")]
    public void BadNetworkFlagsAreUsageErrors(string flag, string value, string message)
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", flag, value, "--max-frames", "100");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr);
    }

    [Fact]
    public void AnLstmNeedsImpalasSequenceReplay()
    {
        var result = CliRunner.Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--lstm", "64", "--max-frames", "100");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--lstm trains with --algo impala or impact only", result.StdErr);
    }

    [Fact]
    public void LaunchRefusesATorchOnlyPresetBeforeStartingAnything()
    {
        var result = CliRunner.Run("launch", "--net", "nature", "--backend", "native");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("nature torso needs the torch backend", result.StdErr);
    }

    [Fact]
    public void TrainingOnAnObservationSubsetRecordsItAndEvalReplaysIt()
    {
        var train = CliRunner.Run("train", "--env", "CartPole-v1", "--observe", "0,2", "--backend", "native", "--max-frames", "3000",
            "--out", _out, "--progress", "plain");
        Assert.True(train.ExitCode == 0, train.StdErr);
        string checkpoint = Path.Combine(_out, "checkpoint.rlmckpt");

        var eval = CliRunner.Run("eval", "--checkpoint", checkpoint, "--episodes", "2");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        Assert.Contains("mean return over 2 greedy episodes on CartPole-v1", eval.StdOut);

        var mismatch = CliRunner.Run("eval", "--checkpoint", checkpoint, "--episodes", "2", "--observe", "1,3");
        Assert.Equal(2, mismatch.ExitCode);
        Assert.Contains("differs from the 0,2", mismatch.StdErr);
    }

    [Fact]
    public void EnvTraceShowsOnlyTheObservedElements()
    {
        var full = CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--state", "0.01,0.02,0.03,0.04", "--actions", "1,0");
        var narrow = CliRunner.Run("env", "trace", "--env", "CartPole-v1", "--state", "0.01,0.02,0.03,0.04", "--actions", "1,0", "--observe", "2,0");
        Assert.True(full.ExitCode == 0, full.StdErr);
        Assert.True(narrow.ExitCode == 0, narrow.StdErr);
        var fullLines = full.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var narrowLines = narrow.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(fullLines.Length, narrowLines.Length);
        for (int i = 0; i < fullLines.Length; i++)
        {
            var f = Observation(fullLines[i]);
            var n = Observation(narrowLines[i]);
            Assert.Equal(new[] { f[2], f[0] }, n);
        }
    }

    private static double[] Observation(string line)
    {
        using var doc = JsonDocument.Parse(line);
        foreach (var property in doc.RootElement.EnumerateObject())
            if (property.Value.ValueKind == JsonValueKind.Array)
                return property.Value.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        throw new InvalidOperationException($"no observation array in {line}");
    }
}
