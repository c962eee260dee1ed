using RLMesh.TestServers;

namespace RLMesh.Integration.Tests.Servers;

/// <summary>
/// One real RabbitMQ node for the <see cref="RabbitMqCollection"/>: a private <see cref="TestBroker"/> (a container
/// when a Docker engine answers, else a rabbitmq-server process on free loopback ports; RLMESH_TEST_SERVERS forces
/// either), or the broker RLMESH_TEST_AMQP names. A missing server fails the tests with a hint; they never pass by
/// skipping.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private TestBroker? _server;

    public Uri AmqpUri { get; private set; } = new("amqp://guest:guest@127.0.0.1:5672/");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("RLMESH_TEST_AMQP");
        if (!string.IsNullOrWhiteSpace(external))
        {
            AmqpUri = new Uri(external);
            return;
        }
        _server = await TestBroker.StartNewAsync();
        AmqpUri = _server.AmqpUri;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "rabbitmq";
}

/// <summary>
/// One Redis server (a <see cref="TestRedis"/>: container or process, as for RabbitMQ) shared by every test of the
/// <see cref="RedisCollection"/>, or the one RLMESH_TEST_REDIS names; tests use distinct key prefixes.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private TestRedis? _server;

    public string Configuration => _server?.Configuration ?? throw new InvalidOperationException("Redis fixture not started.");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("RLMESH_TEST_REDIS");
        _server = string.IsNullOrWhiteSpace(external) ? await TestRedis.StartAsync() : TestRedis.External(external);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "redis";
}
