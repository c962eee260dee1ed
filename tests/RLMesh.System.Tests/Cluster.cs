using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RLMesh.Messaging.LocalServers;
using RLMesh.TestServers;

// The tests start many processes on two cores; one at a time keeps them from starving each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace RLMesh.System.Tests;

/// <summary>
/// Private RabbitMQ and Redis for the system tests: containers when a Docker engine answers, else rabbitmq-server and
/// redis-server processes (TestServers, shared with the integration tests; RLMESH_TEST_SERVERS forces either). Always
/// private, never RLMESH_TEST_AMQP/REDIS: one test stops and restarts the broker.
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    public TestBroker Broker { get; private set; } = null!;
    public TestRedis Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Broker = await TestBroker.StartNewAsync();
        Redis = await TestRedis.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Broker is not null) await Broker.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<ServersFixture>
{
    public const string Name = "servers";
}

/// <summary>One `rlmesh run &lt;role&gt;` child process whose output is kept for assertions.</summary>
public sealed class RoleProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly ProcessStartInfo _info;
    private Process _process = null!;

    public RoleProcess(string role, IReadOnlyDictionary<string, string> settings, int httpPort)
    {
        Role = role;
        HttpPort = httpPort;
        _info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        _info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"));
        _info.ArgumentList.Add("run");
        _info.ArgumentList.Add(role);
        foreach (var (key, value) in settings)
        {
            _info.ArgumentList.Add("--set");
            _info.ArgumentList.Add($"{key}={value}");
        }
        _info.ArgumentList.Add("--http-port");
        _info.ArgumentList.Add(httpPort.ToString(CultureInfo.InvariantCulture));
        _info.Environment["DOTNET_NOLOGO"] = "1";
        Start();
    }

    public string Role { get; }
    public int HttpPort { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Starts the same command again (after <see cref="KillHard"/>); output keeps accumulating.</summary>
    public void Restart()
    {
        if (!_process.HasExited)
            throw new InvalidOperationException($"{Role} is still running");
        _process.Dispose();
        Start();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            await ServerProcess.TerminateAsync(_process.Id, TimeSpan.FromSeconds(15));
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void Start()
    {
        _process = Process.Start(_info) ?? throw new InvalidOperationException($"could not start {Role}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }
}

/// <summary>A local cluster of role processes for one test, each role its own process, on the fixture's servers.</summary>
public sealed class Cluster : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly List<RoleProcess> _processes = [];
    private readonly ITestOutputHelper _log;

    public Cluster(ServersFixture servers, ITestOutputHelper log, string name, IReadOnlyDictionary<string, string>? extra = null)
    {
        _log = log;
        Run = $"{name}-{Guid.NewGuid():N}"[..Math.Min(40, name.Length + 9)];
        Directory = global::System.IO.Directory.CreateTempSubdirectory("rlmesh-system-").FullName;
        Settings = new Dictionary<string, string>
        {
            ["Run"] = Run,
            ["Broker"] = servers.Broker.AmqpUri.ToString(),
            ["Redis"] = servers.Redis.Configuration,
            ["Learner:CheckpointDir"] = Path.Combine(Directory, "checkpoints"),
            ["Learner:CheckpointSeconds"] = "1",
            ["ParameterServer:StaleSeconds"] = "3",
            ["Runner:HeartbeatSeconds"] = "0.5",
            // Fault tests watch a run in progress: it must not finish under them.
            ["Learner:MaxFrames"] = "1000000000",
            ["Learner:TargetReturn"] = "1000000",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
            Settings[k] = v;
    }

    public string Run { get; }
    public string Directory { get; }
    public Dictionary<string, string> Settings { get; }
    public RoleProcess? ParameterServer { get; private set; }

    public RoleProcess Start(string role, string? runnerId = null)
    {
        var settings = new Dictionary<string, string>(Settings);
        if (runnerId is not null)
            settings["Runner:Id"] = runnerId;
        var process = new RoleProcess(role, settings, ServerProcess.FreeLoopbackPort());
        _processes.Add(process);
        if (role == "parameter-server")
            ParameterServer = process;
        return process;
    }

    /// <summary>Parameter server, learner, replay and N runners (runner-0 ...), each a process.</summary>
    public void StartAll(int runners)
    {
        Start("parameter-server");
        Start("learner");
        Start("replay");
        for (int i = 0; i < runners; i++)
            Start("env-runner", $"runner-{i}");
    }

    public RoleProcess Role(string role) => _processes.Last(p => p.Role == role);

    /// <summary>Every process started for <paramref name="role"/>, in start order (runner-0 first).</summary>
    public IReadOnlyList<RoleProcess> Roles(string role) => _processes.Where(p => p.Role == role).ToList();

    /// <summary>GET /status of the parameter server (null while it does not answer yet).</summary>
    public async Task<JsonElement?> StatusAsync()
    {
        try
        {
            var text = await Http.GetStringAsync($"http://127.0.0.1:{ParameterServer!.HttpPort}/status");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    public static async Task<JsonElement?> StatsAsync(RoleProcess process)
    {
        try
        {
            var text = await Http.GetStringAsync($"http://127.0.0.1:{process.HttpPort}/stats");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Polls /status until <paramref name="condition"/> holds; fails with the cluster's output after <paramref name="patience"/>.</summary>
    public async Task<JsonElement> WaitForStatusAsync(string what, Func<JsonElement, bool> condition, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        JsonElement? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var status = await StatusAsync();
            if (status is { } s)
            {
                last = s;
                try
                {
                    if (condition(s))
                    {
                        _log.WriteLine($"{what}: {Summary(s)}");
                        return s;
                    }
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
                {
                }
            }
            await Task.Delay(250);
        }
        Assert.Fail($"timed out waiting for: {what}\nlast status: {last}\n{Dump()}");
        throw new InvalidOperationException();
    }

    public static long LearnerFrames(JsonElement s) => s.GetProperty("learner").GetProperty("frames").GetInt64();
    public static long Latest(JsonElement s) => s.GetProperty("latest_version").GetInt64();

    public static JsonElement Runner(JsonElement s, string id) =>
        s.GetProperty("runners").EnumerateArray().First(r => r.GetProperty("id").GetString() == id);

    public static string Summary(JsonElement s) =>
        $"latest v{Latest(s)}, learner {(s.GetProperty("learner").ValueKind == JsonValueKind.Object ? s.GetProperty("learner").ToString() : "-")}, " +
        $"runners {string.Join(", ", s.GetProperty("runners").EnumerateArray().Select(r => $"{r.GetProperty("id").GetString()} v{r.GetProperty("version").GetInt64()} healthy={r.GetProperty("healthy").GetBoolean()}"))}";

    public string Dump() => string.Join('\n', _processes.Select(p =>
        $"----- {p.Role} (exited: {p.HasExited})\n{string.Join('\n', p.Output.Split('\n').TakeLast(25))}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes.AsEnumerable().Reverse())
            await p.DisposeAsync();
        try
        {
            global::System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
