using System.Diagnostics;
using System.Globalization;
using RLMesh.Messaging.LocalServers;

namespace RLMesh.Integration.Tests.Servers;

/// <summary>
/// A one-node Redis Cluster: a private redis-server with <c>cluster-enabled yes</c> that owns all 16384 slots. It refuses
/// what a real cluster refuses of one command: keys in several slots (CROSSSLOT), for scripts' KEYS as for MGET or UNLINK;
/// and the client talks to it in cluster mode. (One node, so no MOVED redirections.)
/// </summary>
public sealed class RedisClusterNodeFixture : IAsyncLifetime
{
    private Process? _process;
    private string? _directory;

    public string Configuration { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var binary = ServerProcess.RequireExecutable("redis-server");
        var cli = ServerProcess.RequireExecutable("redis-cli");
        _directory = Directory.CreateTempSubdirectory("rlmesh-redis-cluster-").FullName;
        int port = ServerProcess.FreeLoopbackPort();
        string portText = port.ToString(CultureInfo.InvariantCulture);
        var info = new ProcessStartInfo(binary) { WorkingDirectory = _directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "--port", portText, "--bind", "127.0.0.1", "--dir", _directory, "--save", "", "--appendonly", "no",
                     "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(_directory, "nodes.conf"),
                     "--logfile", Path.Combine(_directory, "redis.log"),
                 })
            info.ArgumentList.Add(arg);
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-server.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Configuration = $"127.0.0.1:{portText}";

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        bool slotsAdded = false;
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"redis-server (cluster mode) exited: {ServerProcess.Tail(Path.Combine(_directory, "redis.log"))}");
            if (!slotsAdded)
            {
                var (code, output) = await ServerProcess.RunAsync(cli, ["-p", portText, "cluster", "addslotsrange", "0", "16383"], TimeSpan.FromSeconds(5));
                slotsAdded = code == 0 && output.Contains("OK", StringComparison.Ordinal);
            }
            else
            {
                var (_, output) = await ServerProcess.RunAsync(cli, ["-p", portText, "cluster", "info"], TimeSpan.FromSeconds(5));
                if (output.Contains("cluster_state:ok", StringComparison.Ordinal))
                    return;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the one-node Redis Cluster on port {portText} did not reach cluster_state:ok");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
                await ServerProcess.TerminateAsync(_process.Id, TimeSpan.FromSeconds(5));
            _process.Dispose();
        }
        if (_directory is not null)
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }
}
