using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RLMesh.Telemetry.Aps;
using Xunit.Abstractions;

namespace RLMesh.Telemetry.Tests;

/// <summary>
/// A real Prometheus (Debian binary, private temp dir, loopback port, 1 s scrape interval, our rules loaded) scrapes
/// a real embedded training run (`rlmesh train --metrics-port 0`), and its HTTP API must show the expected series
/// with sane values; and the same Prometheus scrapes a local multi-process cluster (parameter server, learner, replay,
/// two runners as `rlmesh run` processes over private rabbitmq-server and redis-server).
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rlmesh-prom-").FullName;
    private readonly List<Process> _processes = [];

    [Fact]
    public async Task PrometheusScrapesAnEmbeddedTrainingRunAndFindsSaneSeries()
    {
        string prometheusBinary = Tools.Require("prometheus");
        var trainer = Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"), "train", "--env", "CartPole-v1", "--metrics-port", "0",
            "--progress", "plain", "--target-return", "1000000", "--max-frames", "500000000", "--sync", "aps"], "trainer.log");
        var metricsUrl = await WaitForLineAsync(trainer, "trainer.log", "metrics: ");
        var target = new Uri(metricsUrl);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var prometheus = await StartPrometheusAsync(prometheusBinary, http, "rlmesh-train", [target.Authority]);

        await EventuallyAsync("target up", async () => await QueryAsync(http, prometheus, "up{job=\"rlmesh-train\"}") == 1);
        await EventuallyAsync("learner updates scraped", async () => await QueryAsync(http, prometheus, "sum(rlmesh_learner_updates_total)") > 0);
        double frames1 = (await QueryAsync(http, prometheus, "sum(rlmesh_env_frames_total)"))!.Value;
        Assert.True(frames1 > 0, "no frames");
        await EventuallyAsync("frames increasing", async () => await QueryAsync(http, prometheus, "sum(rlmesh_env_frames_total)") > frames1);

        double? lagCount = await QueryAsync(http, prometheus, "rlmesh_policy_lag_versions_bucket{le=\"+Inf\"}");
        Assert.True(lagCount > 0, "lag histogram is empty");
        Assert.Equal(lagCount, await QueryAsync(http, prometheus, "rlmesh_policy_lag_versions_count"));
        Assert.True(await QueryAsync(http, prometheus, "count(rlmesh_policy_lag_versions_bucket)") >= 2, "lag histogram has no buckets");
        Assert.Equal(2, await QueryAsync(http, prometheus, "count(rlmesh_env_frames_total)")); // one series per actor
        Assert.True(await QueryAsync(http, prometheus, "max(rlmesh_policy_divergence)") >= 0, "no divergence series");
        Assert.True(await QueryAsync(http, prometheus, "sum(rlmesh_weight_pull_bytes_total)") > 0, "no weight bytes");
        Assert.True(await QueryAsync(http, prometheus, "max(rlmesh_aps_threshold)") > 0, "no aps threshold");

        // The recording rules evaluate against real scrapes, and the adaptive controller's Prometheus input reads them.
        await EventuallyAsync("recorded frame rate", async () => await QueryAsync(http, prometheus, "rlmesh:env_frames:rate1m") > 0);
        await EventuallyAsync("recorded mean lag", async () => await QueryAsync(http, prometheus, "rlmesh:policy_lag_versions:mean1m") >= 0);
        var staleness = new PrometheusStalenessSource(http, prometheus, "rlmesh:policy_lag_versions:mean1m");
        double? meanLag = await staleness.ReadMeanLagAsync(CancellationToken.None);
        Assert.True(meanLag >= 0, $"staleness source read {meanLag}");
        output.WriteLine($"frames {frames1:N0} -> mean lag {meanLag:F2} versions");
    }

    [Fact]
    public async Task PrometheusScrapesALocalMultiProcessClusterAndFindsEveryRolesSeries()
    {
        string prometheusBinary = Tools.Require("prometheus");
        await using var broker = await RLMesh.Messaging.LocalServers.LocalRabbitMq.StartNewAsync();
        await using var redis = await RLMesh.Messaging.LocalServers.LocalRedis.StartAsync();
        string run = $"prom-{Guid.NewGuid():N}"[..16];
        var roles = new (string Log, string Role, string? Id)[]
        {
            ("parameter-server.log", "parameter-server", null), ("learner.log", "learner", null), ("replay.log", "replay", null),
            ("runner-0.log", "env-runner", "runner-0"), ("runner-1.log", "env-runner", "runner-1"),
        };
        var targets = new List<string>();
        foreach (var (log, role, id) in roles)
        {
            int port = Tools.FreeLoopbackPort();
            targets.Add($"127.0.0.1:{port}");
            string[] args = [Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"), "run", role, "--run", run, "--broker", broker.AmqpUri.ToString(),
                "--redis", redis.Configuration, "--http-port", port.ToString(CultureInfo.InvariantCulture), "--sync", "aps",
                "--set", "Runner:Envs=8", "--set", "Runner:HeartbeatSeconds=0.5", "--set", "ParameterServer:StaleSeconds=5",
                "--target-return", "1000000", "--max-frames", "1000000000", "--checkpoint-dir", Path.Combine(_dir, "checkpoints")];
            Start("dotnet", id is null ? args : [.. args, "--id", id], log);
        }
        _clusterLogs = roles.Select(r => r.Log).ToArray();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var prometheus = await StartPrometheusAsync(prometheusBinary, http, "rlmesh", targets);

        await EventuallyAsync("every role up", async () => await QueryAsync(http, prometheus, "count(up{job=\"rlmesh\"} == 1)") == 5);
        await EventuallyAsync("learner updates", async () => await QueryAsync(http, prometheus, "sum(rlmesh_learner_updates_total)") > 0);
        await EventuallyAsync("runners connected = 2", async () => await QueryAsync(http, prometheus, "max(rlmesh_runners_connected)") == 2);
        double frames1 = (await QueryAsync(http, prometheus, "sum(rlmesh_env_frames_total)"))!.Value;
        await EventuallyAsync("frames increasing", async () => await QueryAsync(http, prometheus, "sum(rlmesh_env_frames_total)") > frames1);
        await EventuallyAsync("lag histogram populated", async () => await QueryAsync(http, prometheus, "sum(rlmesh_policy_lag_versions_count)") > 0);
        await EventuallyAsync("divergence per runner", async () => await QueryAsync(http, prometheus, "count(rlmesh_policy_divergence)") == 2);

        Assert.Equal(2, await QueryAsync(http, prometheus, "count(rlmesh_env_frames_total)"));
        Assert.Equal(2, await QueryAsync(http, prometheus, "count(rlmesh_runner_heartbeat_age_seconds)"));
        Assert.True(await QueryAsync(http, prometheus, "max(rlmesh_runner_heartbeat_age_seconds)") < 5, "stale heartbeats");
        Assert.True(await QueryAsync(http, prometheus, "sum(rlmesh_messages_consumed_total{queue=\"unrolls\"})") > 0, "replay consumed nothing");
        Assert.True(await QueryAsync(http, prometheus, "sum(rlmesh_messages_published_total{queue=\"batches\"})") > 0, "replay published nothing");
        Assert.True(await QueryAsync(http, prometheus, "sum(rlmesh_weight_pulls_total)") >= 2, "runners pulled no weights");
        Assert.Equal(0.1, await QueryAsync(http, prometheus, "max(rlmesh_aps_threshold)")); // the default tau
        Assert.True(await QueryAsync(http, prometheus, "max(rlmesh_learner_version)") > 0, "learner version");
        Assert.True(await QueryAsync(http, prometheus, "sum(rlmesh_snapshot_publish_duration_seconds_count)") > 0, "no snapshot publishes timed");
        Assert.True(await QueryAsync(http, prometheus, "sum(rlmesh_snapshot_load_duration_seconds_count)") > 0, "no snapshot loads timed");
        Assert.True(await QueryAsync(http, prometheus, "max(rlmesh_learner_update_duration_seconds_count)") > 0, "no update durations");
        Assert.NotNull(await QueryAsync(http, prometheus, "rlmesh_learner_entropy"));
        Assert.NotNull(await QueryAsync(http, prometheus, "rlmesh_learner_loss{term=\"total\"}"));
        Assert.NotNull(await QueryAsync(http, prometheus, "rlmesh_queue_depth{queue=\"unrolls\"}"));
        output.WriteLine($"cluster frames {frames1:N0} at first look; lag count {await QueryAsync(http, prometheus, "sum(rlmesh_policy_lag_versions_count)")}");

        // Every role's own /metrics as served: catalog families only, and the real promtool reports no problem.
        var catalog = MetricCatalog.All.Select(d => d.Name).ToHashSet();
        foreach (var target in targets)
        {
            string text = await http.GetStringAsync($"http://{target}/metrics");
            var families = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
            Assert.NotEmpty(families);
            Assert.All(families, name => Assert.Contains(name, catalog));
            var (code, problems) = Tools.Run(Tools.Require("promtool"), ["check", "metrics"], stdin: text);
            Assert.True(code == 0 && !problems.Contains("problem", StringComparison.OrdinalIgnoreCase),
                $"promtool check metrics on {target}/metrics:\n{problems}\n--- exposition ---\n{text}");
        }

        // The operator's view of the same cluster: `rlmesh status` against the real parameter server.
        var (exit, stdout) = RunRlmesh("status", "--url", $"http://{targets[0]}", "--json");
        Assert.True(exit == 0, $"rlmesh status exited {exit}: {stdout}");
        using var status = System.Text.Json.JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        Assert.Equal(run, status.RootElement.GetProperty("run").GetString());
        Assert.True(status.RootElement.GetProperty("latest_version").GetInt64() > 0, "no published version in status");
        Assert.Equal(2, status.RootElement.GetProperty("runners").GetArrayLength());
        var (plainExit, plain) = RunRlmesh("status", "--url", $"http://{targets[0]}");
        Assert.Equal(0, plainExit);
        Assert.Contains("runner-0", plain);
        Assert.Contains("runner-1", plain);
    }

    private static (int ExitCode, string Output) RunRlmesh(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private string[] _clusterLogs = ["trainer.log"];

    private async Task<Uri> StartPrometheusAsync(string prometheusBinary, HttpClient http, string job, IReadOnlyList<string> targets)
    {
        int port = Tools.FreeLoopbackPort();
        string rules = Path.Combine(Tools.RepositoryRoot(), "charts", "rlmesh", "files", "rlmesh-rules.yaml");
        string config = Path.Combine(_dir, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {rules}
            scrape_configs:
              - job_name: {job}
                metrics_path: /metrics
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"\"{t}\""))}]
            """);
        Start(prometheusBinary, [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_dir, "data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], "prometheus.log");
        var prometheus = new Uri($"http://127.0.0.1:{port}/");
        await EventuallyAsync("Prometheus ready", async () => (await http.GetAsync(new Uri(prometheus, "-/ready"))).IsSuccessStatusCode);
        return prometheus;
    }

    private static async Task<double?> QueryAsync(HttpClient http, Uri prometheus, string query)
    {
        using var response = await http.GetAsync(new Uri(prometheus, "api/v1/query?query=" + Uri.EscapeDataString(query)));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return PrometheusStalenessSource.ParseInstantValue(json.RootElement);
    }

    private async Task EventuallyAsync(string what, Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            try
            {
                if (await condition()) return;
            }
            catch (HttpRequestException ex) { last = ex; }
            catch (TaskCanceledException ex) { last = ex; }
            await Task.Delay(250);
        }
        Assert.Fail($"gave up waiting for {what} ({last?.Message}); prometheus log:\n{Tail("prometheus.log")}\n"
            + string.Join("\n", _clusterLogs.Select(log => $"{log}:\n{Tail(log)}")));
    }

    private async Task<string> WaitForLineAsync(Process process, string log, string prefix)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var line = File.Exists(Path.Combine(_dir, log))
                ? ReadShared(log).Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
                : null;
            if (line is not null) return line[prefix.Length..].Trim();
            if (process.HasExited) Assert.Fail($"the trainer exited with {process.ExitCode}:\n{Tail(log)}");
            await Task.Delay(100);
        }
        Assert.Fail($"the trainer never printed '{prefix}':\n{Tail(log)}");
        return "";
    }

    private Process Start(string file, string[] args, string log)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_NOLOGO"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        _processes.Add(process);
        var writer = new StreamWriter(new FileStream(Path.Combine(_dir, log), FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private string ReadShared(string log)
    {
        using var stream = new FileStream(Path.Combine(_dir, log), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    private string Tail(string log) =>
        File.Exists(Path.Combine(_dir, log)) ? string.Join('\n', ReadShared(log).Split('\n').TakeLast(30)) : "(no output)";

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException) { }
            process.Dispose();
        }
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
