using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RLMesh.System.Tests;

[Collection(ServersCollection.Name)]
public sealed partial class CentralInferenceClusterTests(ServersFixture servers, ITestOutputHelper log)
{
    /// <summary>
    /// `rlmesh launch --mode central-inference`: the learner process hosts the inference server, two runner processes dial
    /// it and hold no model, and the learner trains on the unrolls the inference server builds (no replay role); the
    /// parameter server's status, which the launcher prints, lists both runners as healthy.
    /// </summary>
    [Fact]
    public async Task ALaunchedCentralInferenceClusterWithTwoRunnerProcessesMakesLearnerProgress()
    {
        var logs = Directory.CreateTempSubdirectory("rlmesh-central-").FullName;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"), "launch", "--mode", "central-inference", "--env", "CartPole-v1", "--runners", "2",
            "--envs", "8", "--broker", servers.Broker.AmqpUri.ToString(), "--redis", servers.Redis.Configuration,
            "--run", $"central-{Guid.NewGuid():N}"[..16], "--logs", logs, "--max-frames", "60000", "--target-return", "1000000",
            "--set", "Learner:ReportSeconds=0.25", "--status-seconds", "2",
        })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(50));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        var output = await stdout;
        log.WriteLine(output);
        var learnerLog = File.ReadAllText(Path.Combine(logs, "learner.log"));
        var runnerLogs = Enumerable.Range(0, 2).Select(i => File.ReadAllText(Path.Combine(logs, $"runner-{i}.log"))).ToList();
        bool replayStarted = File.Exists(Path.Combine(logs, "replay.log"));
        try { Directory.Delete(logs, recursive: true); } catch (IOException) { }
        string context = $"exit {(process.HasExited ? process.ExitCode : -1)}\n{output}\n{await stderr}\n{learnerLog[^Math.Min(3000, learnerLog.Length)..]}";

        // Progress lines: "v{version} frames {frames} (...)". Updates happened (the version moved past the first one) and frames grew.
        var progress = ProgressLine().Matches(learnerLog)
            .Select(m => (Version: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Frames: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();
        Assert.True(progress.Count >= 2, $"fewer than two learner progress reports\n{context}");
        Assert.True(progress[^1].Frames > progress[0].Frames, $"learner frames did not increase\n{context}");
        Assert.True(progress[^1].Version > progress[0].Version, $"the learner made no updates\n{context}");
        Assert.Contains("Central inference: runners dial ws://127.0.0.1:", learnerLog);
        Assert.All(runnerLogs, l => Assert.Contains("central inference at ws://127.0.0.1:", l));
        Assert.False(replayStarted, "central inference has no replay role");
        // The runners heartbeat like actor-mode runners, so the launcher's status lines count them.
        Assert.Contains("runners 2/2 healthy", output);
        Assert.True(process.ExitCode == 0, context);
        Assert.Contains("learner finished (max-frames)", output);
    }

    [GeneratedRegex(@"v(\d+) frames (\d+) \(")]
    private static partial Regex ProgressLine();
}
