using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;

namespace RLMesh.Integration.Tests.Servers;

/// <summary>
/// A real RabbitMQ node (<c>rabbitmq-server</c>, Debian package) on free loopback ports with its data and logs in a
/// temp directory, or the broker named by RLMESH_TEST_AMQP (an amqp:// URI). Why real processes and not
/// Testcontainers: Testcontainers cannot be restored from the package registry reachable here, and no Docker engine
/// runs on these machines.
/// <para>
/// The Debian wrapper re-executes the server as the <c>rabbitmq</c> user (keeping the environment), so the temp
/// directory is handed to that user. The node runs with no plugins (fast boot) under a random node name, so parallel
/// test runs and other brokers on the machine do not collide. epmd is started by Erlang when missing.
/// </para>
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private Process? _process;
    private string? _directory;

    public Uri AmqpUri { get; private set; } = new("amqp://guest:guest@127.0.0.1:5672/");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("RLMESH_TEST_AMQP");
        if (!string.IsNullOrWhiteSpace(external))
        {
            AmqpUri = new Uri(external);
            return;
        }

        var server = ServerProcess.RequireExecutable("rabbitmq-server");
        _directory = Directory.CreateTempSubdirectory("rlmesh-rabbitmq-").FullName;
        Directory.CreateDirectory(Path.Combine(_directory, "mnesia"));
        Directory.CreateDirectory(Path.Combine(_directory, "log"));
        File.WriteAllText(Path.Combine(_directory, "enabled_plugins"), "[].\n");
        // A small disk limit: a nearly full CI disk must not raise the disk alarm, which blocks every publisher.
        File.WriteAllText(Path.Combine(_directory, "rabbitmq.conf"), "disk_free_limit.absolute = 10MB\n");
        if (Environment.UserName == "root")
        {
            var (code, output) = await ServerProcess.RunAsync("chown", ["-R", "rabbitmq:rabbitmq", _directory], TimeSpan.FromSeconds(10));
            if (code != 0)
                throw new InvalidOperationException($"Could not hand {_directory} to the rabbitmq user: {output} {ServerProcess.InstallHint}");
        }

        int amqpPort = ServerProcess.FreeLoopbackPort();
        int distPort = ServerProcess.FreeLoopbackPort();
        var node = $"rlmesh-test-{Guid.NewGuid():N}"[..24] + "@localhost";
        var info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = _directory };
        // The wrapper's own output goes to a file we can quote when the start fails.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec \"{server}\" > \"{_directory}/server.out\" 2>&1");
        info.Environment["RABBITMQ_NODENAME"] = node;
        info.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        info.Environment["RABBITMQ_NODE_PORT"] = amqpPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["RABBITMQ_DIST_PORT"] = distPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_directory, "mnesia");
        info.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_directory, "log");
        info.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_directory, "enabled_plugins");
        info.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_directory, "rabbitmq.conf");
        info.Environment["RABBITMQ_PID_FILE"] = Path.Combine(_directory, "rabbitmq.pid");
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start rabbitmq-server.");
        AmqpUri = new Uri($"amqp://guest:guest@127.0.0.1:{amqpPort}/");
        await WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        if (_directory is null)
            return;
        // The wrapper does not pass signals on to the Erlang VM, so stop the VM by the pid it wrote itself.
        var pidFile = Path.Combine(_directory, "rabbitmq.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out int pid))
            await ServerProcess.TerminateAsync(pid, TimeSpan.FromSeconds(15));
        if (_process is not null)
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
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

    private async Task WaitUntilReadyAsync()
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
                await using var connection = await factory.CreateConnectionAsync();
                await connection.CloseAsync();
                return;
            }
            catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException)
            {
                last = e;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"RabbitMQ did not accept connections on {AmqpUri} within {StartTimeout}: {last?.Message}\n{Diagnostics()}");
    }

    private string Diagnostics()
    {
        var logs = Directory.Exists(Path.Combine(_directory!, "log"))
            ? Directory.GetFiles(Path.Combine(_directory!, "log"), "*.log").Select(f => $"--- {f}\n{ServerProcess.Tail(f)}")
            : [];
        return $"--- server.out\n{ServerProcess.Tail(Path.Combine(_directory!, "server.out"))}\n{string.Join('\n', logs)}";
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "rabbitmq";
}
