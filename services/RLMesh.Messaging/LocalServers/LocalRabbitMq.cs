using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;

namespace RLMesh.Messaging.LocalServers;

/// <summary>
/// A private RabbitMQ node (<c>rabbitmq-server</c>, Debian package) on free loopback ports with its data and logs in a
/// temp directory: what <c>rlmesh bench transport</c> runs against, and the integration and system tests when no Docker
/// engine answers (they use containers when one does; the machines these tests run on here have none).
/// <para>
/// The Debian wrapper re-executes the server as the <c>rabbitmq</c> user (keeping the environment), so the temp
/// directory is handed to that user. The node runs with no plugins (fast boot) under a random node name, so parallel
/// runs and other brokers on the machine do not collide. epmd is started by Erlang when missing.
/// <see cref="StopAsync"/> and <see cref="StartAsync"/> restart the same node on the same port with the same data
/// (durable queues and persistent messages survive), which the fault tests use.
/// </para>
/// </summary>
public sealed class LocalRabbitMq : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly string _directory;
    private readonly string _node;
    private readonly int _amqpPort;
    private readonly int _distPort;
    private Process? _process;

    private LocalRabbitMq(string directory)
    {
        _directory = directory;
        _amqpPort = ServerProcess.FreeLoopbackPort();
        _distPort = ServerProcess.FreeLoopbackPort();
        _node = $"rlmesh-{Guid.NewGuid():N}"[..24] + "@localhost";
        AmqpUri = new Uri($"amqp://guest:guest@127.0.0.1:{_amqpPort}/");
    }

    public Uri AmqpUri { get; }

    /// <summary>Creates the node's directory and starts it; returns once it accepts AMQP connections.</summary>
    public static async Task<LocalRabbitMq> StartNewAsync(CancellationToken cancellationToken = default)
    {
        ServerProcess.RequireExecutable("rabbitmq-server");
        var directory = Directory.CreateTempSubdirectory("rlmesh-rabbitmq-").FullName;
        Directory.CreateDirectory(Path.Combine(directory, "mnesia"));
        Directory.CreateDirectory(Path.Combine(directory, "log"));
        File.WriteAllText(Path.Combine(directory, "enabled_plugins"), "[].\n");
        // A small disk limit: a nearly full CI disk must not raise the disk alarm, which blocks every publisher.
        File.WriteAllText(Path.Combine(directory, "rabbitmq.conf"), "disk_free_limit.absolute = 10MB\n");
        if (Environment.UserName == "root")
        {
            var (code, output) = await ServerProcess.RunAsync("chown", ["-R", "rabbitmq:rabbitmq", directory], TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (code != 0)
                throw new InvalidOperationException($"Could not hand {directory} to the rabbitmq user: {output} {ServerProcess.InstallHint}");
        }
        var server = new LocalRabbitMq(directory);
        try
        {
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    /// <summary>(Re)starts the node on its ports and data directory; returns once it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false })
            return;
        _process?.Dispose();
        var server = ServerProcess.RequireExecutable("rabbitmq-server");
        var info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = _directory };
        // The wrapper's own output goes to a file we can quote when the start fails.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec \"{server}\" >> \"{_directory}/server.out\" 2>&1");
        info.Environment["RABBITMQ_NODENAME"] = _node;
        info.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        info.Environment["RABBITMQ_NODE_PORT"] = _amqpPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["RABBITMQ_DIST_PORT"] = _distPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_directory, "mnesia");
        info.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_directory, "log");
        info.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_directory, "enabled_plugins");
        info.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_directory, "rabbitmq.conf");
        info.Environment["RABBITMQ_PID_FILE"] = PidFile;
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start rabbitmq-server.");
        await WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the node (SIGTERM to the Erlang VM, which the wrapper does not forward) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        // The wrapper does not pass signals on to the Erlang VM, so stop the VM by the pid it wrote itself.
        if (File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), CultureInfo.InvariantCulture, out int pid))
            await ServerProcess.TerminateAsync(pid, TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        try
        {
            File.Delete(PidFile);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        if (_process is not null)
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private string PidFile => Path.Combine(_directory, "rabbitmq.pid");

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = AmqpUri, RequestedConnectionTimeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + StartTimeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"rabbitmq-server exited with {_process.ExitCode}:\n{Diagnostics()}");
            try
            {
                await using var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                await connection.CloseAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException)
            {
                last = e;
            }
            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
        throw new TimeoutException($"RabbitMQ did not accept connections on {AmqpUri} within {StartTimeout}: {last?.Message}\n{Diagnostics()}");
    }

    private string Diagnostics()
    {
        var logs = Directory.Exists(Path.Combine(_directory, "log"))
            ? Directory.GetFiles(Path.Combine(_directory, "log"), "*.log").Select(f => $"--- {f}\n{ServerProcess.Tail(f)}")
            : [];
        return $"--- server.out\n{ServerProcess.Tail(Path.Combine(_directory, "server.out"))}\n{string.Join('\n', logs)}";
    }
}
