using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using RLMesh.Hosting;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.LocalServers;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh launch`: a whole local cluster as separate processes (parameter-server, learner, replay, N env-runners,
/// each `rlmesh run &lt;role&gt;`) against the given RabbitMQ and Redis. Streams one status line from the parameter
/// server's /status, restarts a role that dies (up to --restarts times), and stops everything on Ctrl-C or when the
/// learner finishes (solved or max frames). Exit code: 0 when the learner finished, 1 when a role kept failing,
/// 130 when interrupted. With --mode central-inference there is no replay: the learner hosts the inference server on a
/// free loopback port and the runners dial it (the launcher sets Learner:InferenceUrl and Runner:Connect). With an
/// on-policy algorithm (--algo ppo) it sets Replay:BatchUnrolls to --runners (one unroll per runner per batch) and,
/// unless configured, 8 envs per runner and T = 32.
/// </summary>
public static class LaunchCommand
{
    public static Command Create()
    {
        var flags = new ClusterFlags();
        var runners = new Option<int>("--runners") { Description = "Env-runner processes", DefaultValueFactory = _ => 4 };
        var logs = new Option<string?>("--logs") { Description = "Directory for each role's log file (default ./rlmesh-logs/<run>)" };
        var restarts = new Option<int>("--restarts") { Description = "Times a role that exits unexpectedly is restarted", DefaultValueFactory = _ => 3 };
        var statusSeconds = new Option<double>("--status-seconds") { Description = "Seconds between status lines", DefaultValueFactory = _ => 2 };
        var runnerNice = new Option<int>("--runner-nice")
        {
            Description = "Niceness of the env-runner processes (0-19; 0: as the others): runners yield the CPU to the learner, replay and the servers that feed it",
            DefaultValueFactory = _ => ClusterLauncher.DefaultRunnerNice,
        };
        var command = new Command("launch", "Start a local cluster (parameter-server, learner, replay, N runners; --mode central-inference: no replay) as separate processes")
        {
            runners, logs, restarts, statusSeconds, runnerNice,
        };
        flags.AddTo(command, "--id", "--http-port", "--connect", "--inference-url");
        command.SetAction(async (parse, cancellationToken) =>
        {
            int count = parse.GetValue(runners);
            if (count < 1) throw new UsageException("--runners must be at least 1");
            int nice = parse.GetValue(runnerNice);
            if (nice is < 0 or > 19) throw new UsageException("--runner-nice must be between 0 and 19");
            var values = flags.Values(parse);
            var config = parse.GetValue(flags.Config);
            // Validates the flags/config once here, so a typo fails before any process starts.
            var builder = ClusterFlags.CreateBuilder(config, values);
            var cluster = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<ClusterOptions>(builder.Configuration) ?? new ClusterOptions();
            var logDir = Path.GetFullPath(parse.GetValue(logs) ?? Path.Combine("rlmesh-logs", cluster.Run));
            Directory.CreateDirectory(logDir);
            if (!values.ContainsKey("Learner:CheckpointDir") && builder.Configuration["Learner:CheckpointDir"] is null)
                values["Learner:CheckpointDir"] = Path.Combine(logDir, "checkpoints");

            if (cluster.Synchronous)
            {
                // On-policy: one unroll per runner per batch, so every batch is one version and every runner takes part.
                string? given = builder.Configuration["Replay:BatchUnrolls"];
                if (given is not null && given != count.ToString(CultureInfo.InvariantCulture))
                    throw new UsageException($"{cluster.Algorithm} is on-policy: a batch is one unroll per runner, so Replay:BatchUnrolls ({given}) must equal --runners ({count}); leave it unset");
                values["Replay:BatchUnrolls"] = count.ToString(CultureInfo.InvariantCulture);
                // 8 envs x T 32 per runner (4 runners: 1024 frames per update, as embedded PPO's 2 x 8 x 64) unless set:
                // IMPALA's 32 x 20 (2560 frames per update) made PPO's CartPole need more frames, or fail to solve
                // (docs/benchmarks.md#launch-ppo-shape).
                if (builder.Configuration["UnrollLength"] is null)
                    values["UnrollLength"] = "32";
                if (builder.Configuration["Runner:Envs"] is null)
                    values["Runner:Envs"] = "8";
            }
            if (cluster.CentralInference)
            {
                int port = ServerProcess.FreeLoopbackPort();
                values["Learner:InferenceUrl"] = $"http://127.0.0.1:{port}";
                values["Runner:Connect"] = $"ws://127.0.0.1:{port}{RLMesh.Remote.Protocol.RemoteProtocol.InferencePath}";
            }
            var launcher = new ClusterLauncher(values, config, logDir, parse.GetValue(restarts), cluster.CentralInference, nice);
            int exit = await launcher.RunAsync(count, TimeSpan.FromSeconds(parse.GetValue(statusSeconds)), cancellationToken);
            // A finished run's queues hold only stale data; an interrupted one may be resumed, so it keeps them.
            if (exit == ExitCodes.Ok && !cluster.CentralInference)
                await RemoveRunQueuesAsync(new Uri(cluster.Broker), cluster.Run);
            return exit;
        });
        return command;
    }

    /// <summary>Deletes the run's queues and exchanges (dead letters, if any, are kept); a broker problem here is only reported.</summary>
    internal static async Task RemoveRunQueuesAsync(Uri broker, string run)
    {
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var kept = await RunTopology.DeleteFinishedRunAsync(broker, run, patience.Token);
            Console.WriteLine(kept.Count == 0
                ? $"removed run {run}'s queues"
                : $"removed run {run}'s queues; kept {string.Join(", ", kept.Select(k => $"{k.Queue} ({k.Messages} dead letters)"))}");
        }
        catch (Exception e) when (e is OperationCanceledException or RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            Console.Error.WriteLine($"rlmesh: could not remove run {run}'s queues: {e.Message}");
        }
    }
}

/// <summary>
/// Starts, watches, restarts and stops the role processes of one local cluster. Env-runners start under `nice` (Linux and
/// macOS): they produce faster than one learner trains, and on a machine with fewer cores than processes every slice
/// they take is one the learner, replay or the broker wanted. Yielding, they step only when the data path has nothing
/// to run (docs/benchmarks.md#cluster-runner-nice).
/// </summary>
internal sealed class ClusterLauncher(Dictionary<string, string?> values, string? configFile, string logDir, int restartLimit,
    bool centralInference = false, int runnerNice = ClusterLauncher.DefaultRunnerNice)
{
    public const int DefaultRunnerNice = 19;

    private readonly List<Child> _children = [];
    private Dictionary<string, string?> Values => values;
    private int RunnerNice => runnerNice;
    private string? ConfigFile => configFile;
    private string LogDir => logDir;
    private int RestartLimit => restartLimit;

    public async Task<int> RunAsync(int runners, TimeSpan statusInterval, CancellationToken cancellationToken)
    {
        int psPort = StartAll(runners);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        var nextStatus = statusInterval;
        int exitCode = 130;
        string? lastState = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(250, cancellationToken);
                var learner = _children[1];
                if (learner.Process!.HasExited && learner.Process.ExitCode == 0)
                {
                    // The parameter server polls Redis every second; wait for it to see the learner's final state.
                    for (int i = 0; i < 12 && lastState is null or "running"; i++)
                    {
                        lastState = await ReadLearnerStateAsync(http, psPort) ?? lastState;
                        if (lastState is null or "running")
                            await Task.Delay(250, CancellationToken.None);
                    }
                    Console.WriteLine($"learner finished ({lastState ?? "done"}); stopping the cluster");
                    exitCode = ExitCodes.Ok;
                    break;
                }
                var failed = _children.FirstOrDefault(c => c.Process!.HasExited && !c.TryRestart());
                if (failed is not null)
                {
                    Console.Error.WriteLine($"rlmesh: {failed.Name} exited with {failed.Process!.ExitCode} after {failed.Restarts} restarts; see {failed.LogFile}");
                    exitCode = ExitCodes.Failure;
                    break;
                }
                if (clock.Elapsed >= nextStatus)
                {
                    nextStatus = clock.Elapsed + statusInterval;
                    var line = await StatusLineAsync(http, psPort);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,6:F0}s] {line}"));
                }
            }
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("interrupted; stopping the cluster");
        }
        finally
        {
            // The last word of the parameter server, before it stops too.
            if (await StatusLineAsync(http, psPort, quiet: true) is { } final)
                Console.WriteLine(final);
            await StopAllAsync();
        }
        return exitCode;
    }

    private int StartAll(int runners)
    {
        Directory.CreateDirectory(LogDir);
        int psPort = ServerProcess.FreeLoopbackPort();
        _children.Add(new Child("parameter-server", "parameter-server", psPort, null, this));
        _children.Add(new Child("learner", "learner", ServerProcess.FreeLoopbackPort(), null, this));
        // Central inference: unrolls are built next to the learner, so there is no replay role.
        if (!centralInference)
            _children.Add(new Child("replay", "replay", ServerProcess.FreeLoopbackPort(), null, this));
        for (int i = 0; i < runners; i++)
            _children.Add(new Child($"runner-{i}", "env-runner", ServerProcess.FreeLoopbackPort(), $"runner-{i}", this));
        Console.WriteLine($"launching {_children.Count} processes; logs in {LogDir}; status on http://127.0.0.1:{psPort}/status");
        foreach (var child in _children)
            child.Start();
        return psPort;
    }

    /// <summary>
    /// Starts the cluster, lets it warm up, then measures the learner's consumed frames per second over
    /// <paramref name="duration"/> (from the parameter server's /status), and stops it.
    /// </summary>
    public async Task<double> MeasureFramesPerSecondAsync(int runners, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        int psPort = StartAll(runners);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            var (frames0, clock0) = await WaitForLearnerFramesAsync(http, psPort, warmup, cancellationToken);
            await Task.Delay(duration, cancellationToken);
            var (frames1, clock1) = await WaitForLearnerFramesAsync(http, psPort, TimeSpan.Zero, cancellationToken);
            if (_children.FirstOrDefault(c => c.Process!.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.Name} exited with {dead.Process!.ExitCode} during the measurement; see {dead.LogFile}");
            return (frames1 - frames0) / (clock1 - clock0).TotalSeconds;
        }
        finally
        {
            await StopAllAsync();
        }
    }

    /// <summary>
    /// Stops every role, the parameter server last: it owns weight retention, and a learner still publishing after it
    /// stopped would leave every later version in Redis (an interrupted run left ~450 snapshots behind).
    /// </summary>
    private async Task StopAllAsync()
    {
        await Task.WhenAll(_children.Where(c => c.Role != "parameter-server").Select(c => c.StopAsync()));
        await Task.WhenAll(_children.Where(c => c.Role == "parameter-server").Select(c => c.StopAsync()));
    }

    /// <summary>After <paramref name="atLeast"/>, the learner's frame count from the next fresh status (and when it was read).</summary>
    private static async Task<(long Frames, TimeSpan At)> WaitForLearnerFramesAsync(HttpClient http, int port, TimeSpan atLeast, CancellationToken cancellationToken)
    {
        await Task.Delay(atLeast, cancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/status", cancellationToken));
                if (doc.RootElement.GetProperty("learner") is { ValueKind: JsonValueKind.Object } learner
                    && learner.GetProperty("frames").GetInt64() > 0)
                {
                    // The learner reports once a second; its own timestamp dates the figure.
                    return (learner.GetProperty("frames").GetInt64(), TimeSpan.FromMilliseconds(learner.GetProperty("sent_unix_ms").GetInt64()));
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
            }
            await Task.Delay(250, cancellationToken);
        }
        throw new TimeoutException("the cluster's learner reported no progress within 60 s");
    }

    private static async Task<string?> ReadLearnerStateAsync(HttpClient http, int port)
    {
        try
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/status"));
            return doc.RootElement.TryGetProperty("learner", out var l) && l.ValueKind == JsonValueKind.Object ? l.GetProperty("state").GetString() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }

    private static async Task<string?> StatusLineAsync(HttpClient http, int port, bool quiet = false)
    {
        try
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/status"));
            var root = doc.RootElement;
            var runners = root.GetProperty("runners");
            int healthy = root.GetProperty("runners_healthy").GetInt32();
            long maxLag = runners.EnumerateArray().Select(r => r.GetProperty("lag").GetInt64()).DefaultIfEmpty(0).Max();
            var learner = root.GetProperty("learner");
            if (learner.ValueKind != JsonValueKind.Object)
                return $"v{root.GetProperty("latest_version").GetInt64()} runners {healthy}/{runners.GetArrayLength()} (learner starting)";
            var mean = learner.GetProperty("mean_return");
            return string.Create(CultureInfo.InvariantCulture,
                $"{learner.GetProperty("state").GetString()} v{root.GetProperty("latest_version").GetInt64()} frames {learner.GetProperty("frames").GetInt64()} " +
                $"({learner.GetProperty("frames_per_second").GetDouble():F0}/s) episodes {learner.GetProperty("episodes").GetInt64()} " +
                $"mean return {(mean.ValueKind == JsonValueKind.Number ? mean.GetDouble().ToString("F1", CultureInfo.InvariantCulture) : "-")} " +
                $"runners {healthy}/{runners.GetArrayLength()} healthy, max lag {maxLag}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return quiet ? null : $"(status not available yet: {e.Message})";
        }
    }

    /// <summary>The `nice` executable on PATH (Linux, macOS), or null: processes then start at the launcher's priority.</summary>
    internal static string? NiceCommand()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "nice");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>The command line that runs this same rlmesh (apphost, or `dotnet rlmesh.dll`).</summary>
    internal static (string File, List<string> Prefix) Self()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        if (Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return (process, [Assembly.GetEntryAssembly()!.Location]);
        return (process, []);
    }

    private sealed class Child(string name, string role, int httpPort, string? runnerId, ClusterLauncher owner)
    {
        public string Name { get; } = name;
        public string Role { get; } = role;
        public Process? Process { get; private set; }
        public int Restarts { get; private set; }
        public string LogFile { get; } = Path.Combine(owner.LogDir, $"{name}.log");
        private StreamWriter? _log;
        private bool _stopping;

        public void Start()
        {
            var (file, prefix) = Self();
            if (Role == "env-runner" && owner.RunnerNice > 0 && NiceCommand() is { } nice)
            {
                // nice execs the command: the child's pid is the runner's own, so stopping and kill -9 reach it.
                prefix = ["-n", owner.RunnerNice.ToString(CultureInfo.InvariantCulture), file, .. prefix];
                file = nice;
            }
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in prefix) info.ArgumentList.Add(a);
            info.ArgumentList.Add("run");
            info.ArgumentList.Add(Role);
            if (owner.ConfigFile is not null)
            {
                info.ArgumentList.Add("--config");
                info.ArgumentList.Add(owner.ConfigFile);
            }
            foreach (var (key, value) in owner.Values)
            {
                info.ArgumentList.Add("--set");
                info.ArgumentList.Add($"{key}={value}");
            }
            info.ArgumentList.Add("--http-port");
            info.ArgumentList.Add(httpPort.ToString(CultureInfo.InvariantCulture));
            if (runnerId is not null)
            {
                info.ArgumentList.Add("--id");
                info.ArgumentList.Add(runnerId);
            }
            _log ??= new StreamWriter(new FileStream(LogFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            var log = _log;
            Process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Name}");
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public bool TryRestart()
        {
            if (_stopping || Restarts >= owner.RestartLimit)
                return false;
            Restarts++;
            Console.WriteLine($"{Name} exited with {Process!.ExitCode}; restarting ({Restarts}/{owner.RestartLimit})");
            Process.Dispose();
            Start();
            return true;
        }

        public async Task StopAsync()
        {
            _stopping = true;
            if (Process is { HasExited: false })
                await ServerProcess.TerminateAsync(Process.Id, TimeSpan.FromSeconds(20));
            if (Process is not null)
            {
                await Process.WaitForExitAsync();
                Process.Dispose();
            }
            if (_log is not null)
                lock (_log) _log.Dispose();
        }
    }
}
