using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace RLMesh.Messaging.LocalServers;

/// <summary>
/// A private <c>redis-server</c> on a free loopback port with its own temp directory (no persistence), for tests and
/// <c>rlmesh bench transport</c>; the integration and system tests use it when no Docker engine answers (containers
/// otherwise).
/// </summary>
public sealed class LocalRedis : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly string? _directory;

    private LocalRedis(string configuration, Process? process, string? directory)
    {
        Configuration = configuration;
        _process = process;
        _directory = directory;
    }

    /// <summary>host:port for StackExchange.Redis (without any password).</summary>
    public string Configuration { get; }

    /// <summary>Wraps a server someone else runs (nothing is started or stopped).</summary>
    public static LocalRedis External(string configuration) => new(configuration, null, null);

    /// <summary>Starts a private redis-server (always a new process), optionally requiring a password.</summary>
    public static async Task<LocalRedis> StartAsync(string? password = null)
    {
        var binary = ServerProcess.RequireExecutable("redis-server");
        var directory = Directory.CreateTempSubdirectory("rlmesh-redis-").FullName;
        int port = ServerProcess.FreeLoopbackPort();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        string[] args =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", directory, "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", Path.Combine(directory, "redis.log"),
        ];
        foreach (var a in args)
            info.ArgumentList.Add(a);
        if (password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(password);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-server.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new LocalRedis($"127.0.0.1:{port}", process, directory);
        try
        {
            await WaitUntilAnswersAsync(port, process, directory).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
                await ServerProcess.TerminateAsync(_process.Id, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            _process.Dispose();
        }
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // a leftover temp folder is harmless
            }
        }
    }

    private static async Task WaitUntilAnswersAsync(int port, Process process, string directory)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException(
                    $"redis-server exited with {process.ExitCode}:\n{ServerProcess.Tail(Path.Combine(directory, "redis.log"))}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port).ConfigureAwait(false);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray()).ConfigureAwait(false);
                var buffer = new byte[64];
                int read = await stream.ReadAsync(buffer).ConfigureAwait(false);
                var reply = Encoding.ASCII.GetString(buffer, 0, read);
                if (reply.StartsWith("+PONG", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH", StringComparison.Ordinal))
                    return;
            }
            catch (SocketException)
            {
                // not listening yet
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"redis-server on port {port} did not answer PING within 20 s.");
    }
}
