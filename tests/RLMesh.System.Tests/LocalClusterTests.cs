using System.Diagnostics;

namespace RLMesh.System.Tests;

[Collection(ServersCollection.Name)]
public sealed class LocalClusterTests(ServersFixture servers, ITestOutputHelper log)
{
    /// <summary>The documented one command: `rlmesh launch` starts every role as its own process and stops them all when the learner is done.</summary>
    [Fact]
    public async Task ALaunchedLocalClusterWithFourRunnersSolvesCartPole()
    {
        var logs = Directory.CreateTempSubdirectory("rlmesh-launch-").FullName;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"), "launch", "--env", "CartPole-v1", "--runners", "4",
            "--broker", servers.Broker.AmqpUri.ToString(), "--redis", servers.Redis.Configuration,
            "--run", $"solve-{Guid.NewGuid():N}"[..14], "--logs", logs, "--max-frames", "6000000", "--status-seconds", "5",
        })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"rlmesh launch did not finish:\n{await stdout}\n{await stderr}");
        }
        var output = await stdout;
        log.WriteLine(output);
        var learnerLog = File.ReadAllText(Path.Combine(logs, "learner.log"));
        try { Directory.Delete(logs, recursive: true); } catch (IOException) { }
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{output}\n{await stderr}\n{learnerLog[^Math.Min(3000, learnerLog.Length)..]}");
        Assert.Contains("learner finished (solved)", output);
        Assert.Contains("Learner finished (solved)", learnerLog);
    }
}
