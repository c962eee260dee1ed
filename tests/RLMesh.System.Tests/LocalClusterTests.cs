using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using RLMesh.Messaging.LocalServers;
using RLMesh.Messaging.Redis;
using StackExchange.Redis;

namespace RLMesh.System.Tests;

[Collection(ServersCollection.Name)]
public sealed partial class LocalClusterTests(ServersFixture servers, ITestOutputHelper log)
{
    /// <summary>The documented one command: `rlmesh launch` starts every role as its own process and stops them all when the learner is done.</summary>
    [Fact]
    public async Task ALaunchedLocalClusterWithFourRunnersSolvesCartPoleAndRemovesItsQueues()
    {
        var (process, run, logs) = StartLaunch("solve", "--env", "CartPole-v1", "--runners", "4", "--max-frames", "6000000", "--status-seconds", "5");
        using var _ = process;
        var niceness = NicenessWhileRunningAsync(run, process);
        var (output, errors) = await RunToExitAsync(process, TimeSpan.FromMinutes(6));
        log.WriteLine(output);
        var learnerLog = File.ReadAllText(Path.Combine(logs, "learner.log"));
        try { Directory.Delete(logs, recursive: true); } catch (IOException) { }
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{output}\n{errors}\n{learnerLog[^Math.Min(3000, learnerLog.Length)..]}");
        Assert.Contains("learner finished (solved)", output);
        Assert.Contains("Learner finished (solved)", learnerLog);
        // Runners yield the CPU to the roles that feed the learner (launch --runner-nice, default 19); the others do not.
        var nice = await niceness;
        Assert.Equal([19, 19, 19, 19], nice.Where(r => r.Role == "env-runner").Select(r => r.Nice));
        Assert.All(nice.Where(r => r.Role != "env-runner"), r => Assert.Equal(0, r.Nice));
        Assert.Equal(["learner", "parameter-server", "replay"], nice.Where(r => r.Role != "env-runner").Select(r => r.Role).Order());

        // A finished run leaves no queues behind on the broker (nothing was dead-lettered, so not even a DLQ).
        Assert.Contains($"removed run {run}'s queues", output);
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = servers.Broker.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        foreach (var queue in new[] { $"rlmesh.{run}.unrolls", $"rlmesh.{run}.batches", $"rlmesh.{run}.unrolls.dlq", $"rlmesh.{run}.batches.dlq" })
        {
            await using var channel = await connection.CreateChannelAsync();
            var e = await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(() => channel.QueueDeclarePassiveAsync(queue));
            Assert.Equal((ushort)404, e.ShutdownReason?.ReplyCode);
        }
    }

    /// <summary>
    /// MinAtar through a launched cluster: the roles build the env's default network (the minatar conv torso on the torch
    /// backend; its snapshots span two weight-store chunks), runners send frames as bits, and Breakout is
    /// learned to a mean return of 3 (random play scores about 0.5) within a frame budget.
    /// </summary>
    [Fact]
    public async Task ALaunchedClusterLearnsMinAtarBreakoutFromBitPackedFrames()
    {
        var (output, _, replayLog) = await LaunchToSolvedAsync("breakout", TimeSpan.FromMinutes(8), "--env", "MinAtar/Breakout-v1",
            "--runners", "4", "--seed", "1", "--target-return", "3", "--max-frames", "3000000", "--status-seconds", "10");
        Assert.Contains("learner finished (solved)", output);
        // Every packed unroll passed validation: nothing was dead-lettered on the way to the learner.
        Assert.Contains(", 0 dead-lettered", replayLog);
    }

    /// <summary>
    /// A recurrent policy across processes: with CartPole's velocities hidden (`--observe 0,2`) only memory solves it.
    /// Each runner keeps every env's LSTM state (zeroed at episode starts) and sends the state at each unroll's first
    /// step, replay concatenates those unrolls byte for byte, and the learner replays every column from that state.
    /// </summary>
    [Fact]
    public async Task ALaunchedClusterWithAnLstmSolvesCartPoleWithItsVelocitiesHidden()
    {
        var (output, learnerLog, _) = await LaunchToSolvedAsync("lstm", TimeSpan.FromMinutes(12), "--env", "CartPole-v1",
            "--runners", "4", "--observe", "0,2", "--lstm", "64", "--backend", "torch", "--seed", "1", "--max-frames", "1500000",
            "--status-seconds", "5");
        Assert.Contains("Training a torch mlp + lstm 64 on [2] network", learnerLog);
        Assert.Contains("learner finished (solved)", output);
    }

    /// <summary>
    /// `rlmesh launch --mode central-inference --lstm 64`: the learner's inference server keeps each runner slot's LSTM
    /// state, and the unrolls it builds carry the state at their first step; CartPole is solved within the frame budget.
    /// </summary>
    [Fact]
    public async Task ALaunchedCentralInferenceClusterWithAnLstmSolvesCartPole()
    {
        var (_, learnerLog, _) = await LaunchToSolvedAsync("cilstm", TimeSpan.FromMinutes(12), "--mode", "central-inference",
            "--env", "CartPole-v1", "--runners", "2", "--envs", "16", "--lstm", "64", "--backend", "torch", "--seed", "1",
            "--max-frames", "1500000", "--status-seconds", "5");
        Assert.Contains("Training a torch mlp + lstm 64 on [4] network", learnerLog);
    }

    /// <summary>
    /// `rlmesh launch --algo ppo`: runners wait for each new version, replay forms one-version batches of one unroll per
    /// runner, and the learner trains only on batches from its current parameters. CartPole is solved within the frame
    /// budget and every learner report measures a policy lag of exactly 0.
    /// </summary>
    [Fact]
    public async Task ALaunchedPpoClusterSolvesCartPoleOnPolicy()
    {
        var clock = Stopwatch.StartNew();
        var (process, _, logs) = StartLaunch("ppo", "--algo", "ppo", "--env", "CartPole-v1", "--runners", "3", "--seed", "1",
            "--max-frames", "1000000", "--status-seconds", "5");
        using var _ = process;
        var (output, errors) = await RunToExitAsync(process, TimeSpan.FromMinutes(3));
        log.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s\n{output}");
        var learnerLog = File.ReadAllText(Path.Combine(logs, "learner.log"));
        var replayLog = File.ReadAllText(Path.Combine(logs, "replay.log"));
        try { Directory.Delete(logs, recursive: true); } catch (IOException) { }
        string context = $"exit {process.ExitCode}\n{output}\n{errors}\n{learnerLog[^Math.Min(4000, learnerLog.Length)..]}";
        Assert.True(process.ExitCode == 0, context);
        Assert.Contains("learner finished (solved)", output);
        Assert.Contains("on-policy (one version per batch) batches of 3 unrolls", replayLog);

        // "v{version} frames {frames} (...) ... lag {lag} loss": the mean lag of the batches trained since the last report.
        var reports = ProgressWithLag().Matches(learnerLog)
            .Select(m => (Frames: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Lag: double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();
        Assert.True(reports.Count >= 2, context);
        Assert.All(reports, r => Assert.True(r.Lag == 0, $"policy lag {r.Lag} at {r.Frames} frames\n{context}"));
        Assert.InRange(reports[^1].Frames, 1, 1_000_000);
    }

    /// <summary>
    /// An interrupted launch (SIGTERM, as from a process manager; Ctrl-C is the same path) keeps its queues for a resume
    /// but leaves no more weight versions in Redis than the parameter server retains: the roles stop before the
    /// parameter server, which collects once more on its way out (the learner used to go on publishing after it stopped).
    /// </summary>
    [Fact]
    public async Task AnInterruptedLaunchLeavesOnlyTheRetainedWeightVersionsInRedis()
    {
        var (process, run, logs) = StartLaunch("stop", "--env", "CartPole-v1", "--runners", "2", "--max-frames", "1000000000",
            "--target-return", "100000", "--status-seconds", "1");
        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = new global::System.Text.StringBuilder();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            // Until the learner has published a few hundred versions (a status line "running v{N} ...").
            while (await process.StandardOutput.ReadLineAsync(patience.Token) is { } line)
            {
                output.AppendLine(line);
                if (RunningVersion().Match(line) is { Success: true } m && long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 300)
                    break;
            }
            await ServerProcess.TerminateAsync(process.Id, TimeSpan.FromSeconds(60));
            output.Append(await process.StandardOutput.ReadToEndAsync(patience.Token));
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"rlmesh launch did not reach v300 and stop:\n{output}\n{await stderr}");
        }
        log.WriteLine(output.ToString());
        try { Directory.Delete(logs, recursive: true); } catch (IOException) { }
        Assert.Contains("stopping the cluster", output.ToString());

        // SCAN walks every key the suite's runs left in the shared server; on a loaded CI machine a page took over the
        // client's default 5 s.
        var redisOptions = ConfigurationOptions.Parse(servers.Redis.Configuration);
        redisOptions.SyncTimeout = 30_000;
        using var redis = await ConnectionMultiplexer.ConnectAsync(redisOptions);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var keys = new RedisKeyspace($"rlmesh:{run}");
        var manifests = server.Keys(pattern: $"{keys.Prefix}:w:*:manifest").ToList();
        var chunks = server.Keys(pattern: $"{keys.Prefix}:w:*:c:*").ToList();
        Assert.True(manifests.Count is >= 1 and <= 3, $"{manifests.Count} weight versions left in Redis (retain 3): {string.Join(", ", manifests.Take(10))}");
        Assert.True(chunks.Count <= 3 * 2, $"{chunks.Count} chunks left");
    }

    /// <summary>
    /// The niceness of each role process of <paramref name="run"/> (from /proc), read once all seven are up: the learner,
    /// parameter server, replay and four runners. Empty if the launch exits first.
    /// </summary>
    private static async Task<List<(string Role, int Nice)>> NicenessWhileRunningAsync(string run, Process launch)
    {
        while (!launch.HasExited)
        {
            var roles = new List<(string Role, int Nice)>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                    int at = Array.IndexOf(args, "run");
                    if (at < 0 || at + 1 >= args.Length || !args.Contains($"Run={run}") || Path.GetFileName(args[0]) == "nice")
                        continue; // not this run's, or `nice` a moment before it execs the runner
                    // /proc/<pid>/stat: "pid (comm) state ..."; niceness is field 19, the 17th after the closing parenthesis.
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    roles.Add((args[at + 1], int.Parse(fields[16], CultureInfo.InvariantCulture)));
                }
                catch (IOException) { } // a process that ended while we looked
                catch (UnauthorizedAccessException) { }
            }
            if (roles.Count == 7)
                return roles;
            await Task.Delay(100);
        }
        return [];
    }

    /// <summary>`rlmesh launch <paramref name="args"/>` as the user runs it (output redirected) on the test servers, as a fresh run named after <paramref name="name"/>, logging to a new temporary directory.</summary>
    /// <summary>
    /// Runs a launch to its end and asserts it exited 0 with the learner solved; returns the command's output and the
    /// learner's and replay's logs (replay's is empty when the mode starts no replay).
    /// </summary>
    private async Task<(string Output, string LearnerLog, string ReplayLog)> LaunchToSolvedAsync(string name, TimeSpan patience, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var (process, _, logs) = StartLaunch(name, args);
        using var _ = process;
        var (output, errors) = await RunToExitAsync(process, patience);
        log.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s\n{output}");
        var learnerLog = File.ReadAllText(Path.Combine(logs, "learner.log"));
        string replayPath = Path.Combine(logs, "replay.log");
        var replayLog = File.Exists(replayPath) ? File.ReadAllText(replayPath) : "";
        try { Directory.Delete(logs, recursive: true); } catch (IOException) { }
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{output}\n{errors}\n{learnerLog[^Math.Min(4000, learnerLog.Length)..]}");
        Assert.Contains("Learner finished (solved)", learnerLog);
        return (output, learnerLog, replayLog);
    }

    private (Process Process, string Run, string Logs) StartLaunch(string name, params string[] args)
    {
        string run = $"{name}-{Guid.NewGuid():N}"[..14];
        string logs = Directory.CreateTempSubdirectory($"rlmesh-{name}-").FullName;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"));
        info.ArgumentList.Add("launch");
        foreach (var a in args)
            info.ArgumentList.Add(a);
        foreach (var a in new[] { "--broker", servers.Broker.AmqpUri.ToString(), "--redis", servers.Redis.Configuration, "--run", run, "--logs", logs })
            info.ArgumentList.Add(a);
        return (Process.Start(info)!, run, logs);
    }

    /// <summary>Waits for a launch to exit by itself; one that does not within <paramref name="patience"/> is killed and fails the test.</summary>
    private static async Task<(string Output, string Errors)> RunToExitAsync(Process process, TimeSpan patience)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(patience);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"rlmesh launch did not finish within {patience}:\n{await stdout}\n{await stderr}");
        }
        return (await stdout, await stderr);
    }

    [GeneratedRegex(@"running v(\d+) ")]
    private static partial Regex RunningVersion();

    [GeneratedRegex(@"frames (\d+) \(.*? lag (\d+\.\d+) loss")]
    private static partial Regex ProgressWithLag();
}
