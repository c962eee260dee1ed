using DotNet.Testcontainers.Builders;
using RLMesh.Messaging.LocalServers;
using Testcontainers.RabbitMq;
using Testcontainers.Redis;

namespace RLMesh.TestServers;

public enum TestServerKind
{
    /// <summary>RabbitMQ and Redis in containers (Testcontainers), the chart's own images.</summary>
    Containers,

    /// <summary>Private rabbitmq-server and redis-server processes (<see cref="LocalRabbitMq"/>, <see cref="LocalRedis"/>).</summary>
    Local,
}

/// <summary>
/// Decides, once per test process, where the test servers run: in containers when a Docker engine answers, else as
/// local processes. RLMESH_TEST_SERVERS=containers|local forces the choice; containers without an engine is a failure
/// of every test that needs a server, never a fallback. The decision and its reason go to stderr as one line.
/// </summary>
public static class TestServerChoice
{
    public const string Variable = "RLMESH_TEST_SERVERS";
    public const string ReportFileVariable = "RLMESH_TEST_SERVERS_REPORT";
    public const string RabbitMqImage = "docker.io/library/rabbitmq:3.13.7-alpine";
    public const string RedisImage = "docker.io/library/redis:7.2.5-alpine";

    // Process-wide on purpose: the engine probe and the printed line happen once, whatever the number of fixtures.
    private static readonly Lazy<Task<TestServerKind>> Decision = new(() => Task.Run(DecideAsync));

    public static Task<TestServerKind> KindAsync() => Decision.Value;

    private static async Task<TestServerKind> DecideAsync()
    {
        var forced = Environment.GetEnvironmentVariable(Variable)?.Trim();
        TestServerKind kind;
        string reason;
        switch (forced?.ToLowerInvariant())
        {
            case null or "":
                var unavailable = await DockerUnavailableReasonAsync();
                kind = unavailable is null ? TestServerKind.Containers : TestServerKind.Local;
                reason = (unavailable is null ? "a Docker engine answered" : "no Docker engine answered") + $" ({Variable}=containers|local forces a choice)";
                break;
            case "containers":
                var missing = await DockerUnavailableReasonAsync();
                if (missing is not null)
                    throw new InvalidOperationException(
                        $"{Variable}=containers, but no Docker engine answers: {missing} Start one (or point DOCKER_HOST at one), or set {Variable}=local.");
                kind = TestServerKind.Containers;
                reason = $"{Variable}=containers";
                break;
            case "local":
                kind = TestServerKind.Local;
                reason = $"{Variable}=local";
                break;
            default:
                throw new InvalidOperationException($"{Variable} must be 'containers' or 'local' (or unset: containers when a Docker engine answers), got '{forced}'.");
        }
        string line = kind == TestServerKind.Containers
            ? $"RLMesh test servers: containers ({RabbitMqImage}, {RedisImage}): {reason}"
            : $"RLMesh test servers: local rabbitmq-server and redis-server processes: {reason}";
        Console.Error.WriteLine(line);
        // dotnet test hides a passing test's stderr; ops/test.sh names a file here and prints what each run used.
        if (Environment.GetEnvironmentVariable(ReportFileVariable) is { Length: > 0 } reportFile)
            await File.AppendAllTextAsync(reportFile, line + Environment.NewLine);
        return kind;
    }

    /// <summary>
    /// Null when a Docker engine answers, else why not. Building a container (not starting it) is the probe: with no
    /// engine the builder throws DockerUnavailableException within about half a second. A `docker` client binary
    /// proves nothing: it is installed on machines without an engine.
    /// </summary>
    private static async Task<string?> DockerUnavailableReasonAsync()
    {
        try
        {
            await using var probe = new RedisBuilder(RedisImage).Build();
            return null;
        }
        catch (DockerUnavailableException e)
        {
            return e.Message;
        }
    }
}

/// <summary>A RabbitMQ broker for tests that can be stopped and started again on the same port with the same data.</summary>
public abstract class TestBroker : IAsyncDisposable
{
    public abstract Uri AmqpUri { get; }

    public abstract Task StopAsync();

    public abstract Task StartAsync(CancellationToken cancellationToken = default);

    public abstract ValueTask DisposeAsync();

    /// <summary>A new private broker wherever <see cref="TestServerChoice"/> says servers run.</summary>
    public static async Task<TestBroker> StartNewAsync(CancellationToken cancellationToken = default) =>
        await TestServerChoice.KindAsync() == TestServerKind.Containers
            ? await ContainerBroker.StartContainerAsync(cancellationToken)
            : new ProcessBroker(await LocalRabbitMq.StartNewAsync(cancellationToken));

    private sealed class ProcessBroker(LocalRabbitMq server) : TestBroker
    {
        public override Uri AmqpUri => server.AmqpUri;
        public override Task StopAsync() => server.StopAsync();
        public override Task StartAsync(CancellationToken cancellationToken = default) => server.StartAsync(cancellationToken);
        public override ValueTask DisposeAsync() => server.DisposeAsync();
    }

    private sealed class ContainerBroker(RabbitMqContainer container) : TestBroker
    {
        private const int AmqpPort = 5672;

        public override Uri AmqpUri { get; } = new(container.GetConnectionString());

        public static async Task<TestBroker> StartContainerAsync(CancellationToken cancellationToken)
        {
            // A fixed host port, not a random one: a restarted container would get a new random port, and the fault
            // tests restart the broker under clients that keep the URI they were given.
            var container = new RabbitMqBuilder(TestServerChoice.RabbitMqImage)
                .WithPortBinding(ServerProcess.FreeLoopbackPort(), AmqpPort)
                .Build();
            try
            {
                await container.StartAsync(cancellationToken);
            }
            catch
            {
                await container.DisposeAsync();
                throw;
            }
            return new ContainerBroker(container);
        }

        public override Task StopAsync() => container.StopAsync();
        public override Task StartAsync(CancellationToken cancellationToken = default) => container.StartAsync(cancellationToken);
        public override ValueTask DisposeAsync() => container.DisposeAsync();
    }
}

/// <summary>A Redis server for tests: <see cref="Configuration"/> is host:port for StackExchange.Redis.</summary>
public abstract class TestRedis : IAsyncDisposable
{
    public abstract string Configuration { get; }

    public abstract ValueTask DisposeAsync();

    /// <summary>A new private server wherever <see cref="TestServerChoice"/> says servers run.</summary>
    public static async Task<TestRedis> StartAsync(CancellationToken cancellationToken = default)
    {
        if (await TestServerChoice.KindAsync() == TestServerKind.Local)
            return new ProcessRedis(await LocalRedis.StartAsync());
        var container = new RedisBuilder(TestServerChoice.RedisImage).Build();
        try
        {
            await container.StartAsync(cancellationToken);
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }
        return new ContainerRedis(container);
    }

    /// <summary>A server someone else runs (nothing is started or stopped).</summary>
    public static TestRedis External(string configuration) => new ProcessRedis(LocalRedis.External(configuration));

    private sealed class ProcessRedis(LocalRedis server) : TestRedis
    {
        public override string Configuration => server.Configuration;
        public override ValueTask DisposeAsync() => server.DisposeAsync();
    }

    private sealed class ContainerRedis(RedisContainer container) : TestRedis
    {
        public override string Configuration { get; } = container.GetConnectionString();
        public override ValueTask DisposeAsync() => container.DisposeAsync();
    }
}
