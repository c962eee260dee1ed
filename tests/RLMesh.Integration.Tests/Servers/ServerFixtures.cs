using RLMesh.Messaging.LocalServers;

namespace RLMesh.Integration.Tests.Servers;

/// <summary>
/// One real RabbitMQ node for the <see cref="RabbitMqCollection"/>: a private <see cref="LocalRabbitMq"/> (started on
/// free loopback ports in a temp directory; the code lives in RLMesh.Messaging/LocalServers so the system tests and
/// `rlmesh bench transport` share it), or the broker RLMESH_TEST_AMQP names. A missing rabbitmq-server fails the
/// tests with an install hint; they never pass by skipping. (Testcontainers cannot be restored here and no Docker
/// engine runs, hence real processes.)
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private LocalRabbitMq? _server;

    public Uri AmqpUri { get; private set; } = new("amqp://guest:guest@127.0.0.1:5672/");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("RLMESH_TEST_AMQP");
        if (!string.IsNullOrWhiteSpace(external))
        {
            AmqpUri = new Uri(external);
            return;
        }
        _server = await LocalRabbitMq.StartNewAsync();
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

/// <summary>One redis-server shared by every test of the <see cref="RedisCollection"/> (or RLMESH_TEST_REDIS); tests use distinct key prefixes.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private LocalRedis? _server;

    public string Configuration => _server?.Configuration ?? throw new InvalidOperationException("Redis fixture not started.");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("RLMESH_TEST_REDIS");
        _server = string.IsNullOrWhiteSpace(external) ? await LocalRedis.StartAsync() : LocalRedis.External(external);
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
