namespace RLMesh.Messaging.Redis;

/// <summary>Where and how a <see cref="RedisWeightStore"/> keeps snapshots. Bound from configuration.</summary>
public sealed class RedisOptions
{
    /// <summary>StackExchange.Redis configuration string: <c>host:port</c>, optionally with <c>,password=...</c>.</summary>
    public string Configuration { get; set; } = "localhost:6379";

    /// <summary>Overrides any password in <see cref="Configuration"/> (e.g. read from a Kubernetes secret).</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Prefix of every key and of the hint channel; one per run (<c>rlmesh:&lt;run&gt;</c>). Its last segment becomes the
    /// run's Redis Cluster hash tag (<c>rlmesh:{&lt;run&gt;}</c>) unless it already holds one: see <see cref="RedisKeyspace"/>.
    /// </summary>
    public string KeyPrefix { get; set; } = "rlmesh:default";

    /// <summary>Payload bytes per chunk key. Large values block Redis's single thread; 512 KiB keeps each write short.</summary>
    public int ChunkBytes { get; set; } = 512 * 1024;

    /// <summary>How many of the newest versions stay loadable; older ones are deleted after each publish.</summary>
    public int RetainVersions { get; set; } = 3;

    /// <summary>
    /// Whether the publisher applies retention right after each publish (the embedded and single-process default).
    /// In distributed mode the parameter server owns retention: the learner turns this off and the parameter server
    /// calls <see cref="RedisWeightStore.CollectOldVersionsAsync"/> periodically, so exactly one process deletes.
    /// </summary>
    public bool CollectOnPublish { get; set; } = true;

    /// <summary>
    /// Listen to the version hints publishers send (<see cref="RedisWeightStore.VersionHinted"/>,
    /// <see cref="RedisWeightStore.WaitForHintAsync"/>). Readers that follow the weights want them; a learner (which
    /// publishes) or a parameter server (which polls) does not: every hint is a message per subscriber, hundreds a second,
    /// and listening cost the parameter server about 8 % of a core here.
    /// </summary>
    public bool SubscribeToHints { get; set; } = true;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Configuration))
            throw new ArgumentException("Redis Configuration must name at least one host:port.", nameof(Configuration));
        _ = RedisKeyspace.HashTagged(KeyPrefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(ChunkBytes, 4, nameof(ChunkBytes));
        if (ChunkBytes % sizeof(float) != 0)
            throw new ArgumentException($"ChunkBytes {ChunkBytes} must be a multiple of 4 so no float straddles two chunks.", nameof(ChunkBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetainVersions, 1, nameof(RetainVersions));
    }
}
