using System.Globalization;

namespace RLMesh.Messaging.Redis;

/// <summary>
/// Every Redis key and channel name of one run, in one place. All of them start with <see cref="Prefix"/>, which holds
/// one Redis Cluster hash tag (<c>rlmesh:{run}</c>), so every key of a run lives in one slot: a Lua script may then touch
/// any of them (each passed in KEYS), and multi-key commands (MGET, UNLINK) work on a cluster.
/// <para>
/// The prefix comes from <see cref="RedisOptions.KeyPrefix"/>: used as given when it already holds a hash tag, else its
/// last <c>:</c>-separated segment becomes the tag (<c>rlmesh:run-7</c> -> <c>rlmesh:{run-7}</c>).
/// </para>
/// </summary>
public sealed class RedisKeyspace
{
    /// <param name="keyPrefix">A <see cref="RedisOptions.KeyPrefix"/>; see <see cref="HashTagged"/> for what is accepted.</param>
    public RedisKeyspace(string keyPrefix)
    {
        Prefix = HashTagged(keyPrefix);
        Latest = Prefix + ":latest";
        Versions = Prefix + ":w:versions";
        HintChannel = Prefix + ":weights";
        Runners = Prefix + ":runners";
        Learner = Prefix + ":learner";
        ApsDivergence = Prefix + ":aps:divergence";
        ApsTau = Prefix + ":aps:tau";
    }

    /// <summary>The hash-tagged prefix every name below starts with.</summary>
    public string Prefix { get; }

    /// <summary>String: the newest complete weight version.</summary>
    public string Latest { get; }

    /// <summary>Sorted set of every weight version ever started (member <c>{v}:{chunkCount}</c>, score v), for retention.</summary>
    public string Versions { get; }

    /// <summary>Pub/sub channel (not a key) on which each new version is announced.</summary>
    public string HintChannel { get; }

    /// <summary>Set of runner ids ever seen.</summary>
    public string Runners { get; }

    /// <summary>String: the learner's last status (JSON).</summary>
    public string Learner { get; }

    /// <summary>Hash: one APS divergence reading per runner.</summary>
    public string ApsDivergence { get; }

    /// <summary>String: the APS threshold tau.</summary>
    public string ApsTau { get; }

    /// <summary>String: the protobuf manifest of weight version <paramref name="version"/>.</summary>
    public string Manifest(long version) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}:w:{version}:manifest");

    /// <summary>String: payload chunk <paramref name="index"/> of weight version <paramref name="version"/>.</summary>
    public string Chunk(long version, int index) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}:w:{version}:c:{index}");

    /// <summary>String: a runner's last heartbeat (JSON, with a TTL).</summary>
    public string Runner(string runnerId) => $"{Prefix}:runner:{runnerId}";

    /// <summary>
    /// <paramref name="keyPrefix"/> as given when it holds a Redis hash tag (a non-empty <c>{...}</c>, the first <c>{</c>
    /// up to the next <c>}</c>); else with its last <c>:</c>-separated segment wrapped in braces. Throws
    /// <see cref="ArgumentException"/> for an empty prefix, one ending in <c>:</c>, or one whose braces form no tag.
    /// </summary>
    public static string HashTagged(string keyPrefix)
    {
        if (string.IsNullOrWhiteSpace(keyPrefix))
            throw new ArgumentException("KeyPrefix must not be empty.", nameof(keyPrefix));
        int open = keyPrefix.IndexOf('{');
        if (open >= 0)
        {
            int close = keyPrefix.IndexOf('}', open + 1);
            if (close <= open + 1)
                throw new ArgumentException(
                    $"KeyPrefix '{keyPrefix}' has a '{{' without a non-empty hash tag after it; write e.g. rlmesh:{{run}} or leave the braces out.",
                    nameof(keyPrefix));
            return keyPrefix;
        }
        if (keyPrefix.Contains('}'))
            throw new ArgumentException($"KeyPrefix '{keyPrefix}' has a '}}' without a '{{' before it.", nameof(keyPrefix));
        if (keyPrefix.EndsWith(':'))
            throw new ArgumentException($"KeyPrefix '{keyPrefix}' must not end with ':' (its last segment names the run).", nameof(keyPrefix));
        int lastColon = keyPrefix.LastIndexOf(':');
        return $"{keyPrefix[..(lastColon + 1)]}{{{keyPrefix[(lastColon + 1)..]}}}";
    }
}
