using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RLMesh.Core.Runtime;
using RLMesh.Core.Sync;
using RLMesh.Messaging.Protos;
using StackExchange.Redis;

namespace RLMesh.Messaging.Redis;

/// <summary>
/// <see cref="IWeightStore"/> over Redis. Every StackExchange.Redis call of the project lives in this folder.
/// <para>
/// Layout under the run's hash-tagged prefix P (<see cref="RedisKeyspace"/>, e.g. <c>rlmesh:{run}</c>):
/// <c>P:w:&lt;v&gt;:c:&lt;i&gt;</c> payload chunks, <c>P:w:&lt;v&gt;:manifest</c> a protobuf <see cref="WeightManifest"/> with the
/// SHA-256 of the payload, <c>P:latest</c> the newest complete version, <c>P:w:versions</c> a sorted set of every
/// version ever started (member <c>&lt;v&gt;:&lt;chunkCount&gt;</c>, score v) that retention works from, and the channel
/// <c>P:weights</c> on which each new version is announced. Every script receives each key it touches in KEYS, and
/// all of them share the run's hash tag, so the store works on Redis Cluster as on a single node.
/// </para>
/// <para>
/// A snapshot becomes visible only once complete: its version is recorded for retention, chunks and manifest are
/// written, <c>latest</c> moves forward (never back: a version is never reused) and the hint goes out. A single-chunk snapshot does all of it in one Lua script (one round trip, atomic);
/// a larger one claims, writes chunks natively, then commits. A load is one script for a single-chunk snapshot. A reader still
/// verifies chunk count, sizes and checksum (retention may remove a version mid-read, an operator may corrupt one); a torn, partial or corrupt snapshot is logged, counted in
/// <see cref="RejectedSnapshots"/> and never returned: the caller keeps the version it has. Readers poll
/// <see cref="TryGetNewerAsync"/>; the hint (<see cref="VersionHinted"/>, <see cref="WaitForHintAsync"/>) only
/// wakes them early.
/// </para>
/// </summary>
public sealed partial class RedisWeightStore : IWeightStore, IAsyncDisposable
{
    public const string Dtype = "float32";
    private const uint ManifestSchemaVersion = 1;

    // Publishes a single-chunk snapshot atomically, or nothing: a version not newer than latest returns latest
    // untouched. (A version merely recorded by a multi-chunk publish that died before its commit is not refused: the
    // restarted learner continues at latest + 1 and must be able to publish it.) The version is recorded in the retention set, chunk and
    // manifest are written, latest moves and the hint goes out. KEYS: latest, versions, manifest, chunk 0.
    // ARGV: version, retention member, manifest, hint channel, chunk 0. Returns -2 when published.
    internal const string PublishScript = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
        if tonumber(ARGV[1]) <= current then return current end
        redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
        redis.call('SET', KEYS[4], ARGV[5])
        redis.call('SET', KEYS[3], ARGV[3])
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('PUBLISH', ARGV[4], ARGV[1])
        return -2
        """;

    // First step of a multi-chunk publish: records the version for retention first, so chunks of a publish that dies
    // half-way are collected, unless it is not newer than latest. KEYS: latest, versions.
    // ARGV: version, retention member. Returns -2 when claimed.
    internal const string ReserveScript = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
        if tonumber(ARGV[1]) <= current then return current end
        redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
        return -2
        """;

    // Last step of a multi-chunk publish, once every chunk is written: manifest, latest (forward only), hint.
    // KEYS: latest, manifest. ARGV: version, manifest, hint channel. Returns -2 when published.
    internal const string CommitScript = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
        if tonumber(ARGV[1]) <= current then return current end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('PUBLISH', ARGV[3], ARGV[1])
        return -2
        """;

    // Reads latest and, when it is newer than ARGV[1] and is the expected version ARGV[2], that version's manifest, plus
    // its payload when that is a single chunk (every control-sized network): { latest } or
    // { latest, manifest or nil[, chunk 0] }. Keys are never built here from latest's value (Redis Cluster needs every
    // key in KEYS), so the caller names the version it expects and, when latest is another one, loads that by name.
    // Large snapshots are fetched with a native MGET after (copying megabytes through Lua strings doubled their
    // latency). KEYS: latest, and the expected version's manifest, chunk 0 and chunk 1.
    internal const string LoadNewerScript = """
        local latest = redis.call('GET', KEYS[1])
        if not latest or tonumber(latest) <= tonumber(ARGV[1]) or tonumber(latest) ~= tonumber(ARGV[2]) then return { latest } end
        local reply = { latest, redis.call('GET', KEYS[2]) }
        if redis.call('EXISTS', KEYS[4]) == 0 then reply[3] = redis.call('GET', KEYS[3]) end
        return reply
        """;

    /// <summary>Every Lua script the store runs, by name (tests check that each one touches only keys passed in KEYS).</summary>
    internal static IReadOnlyList<(string Name, string Source)> LuaScripts =>
        [(nameof(PublishScript), PublishScript), (nameof(ReserveScript), ReserveScript), (nameof(CommitScript), CommitScript),
         (nameof(LoadNewerScript), LoadNewerScript)];

    private readonly RedisOptions _options;
    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly ILogger _logger;
    private readonly RedisKeyspace _keys;
    private readonly RedisKey _latestKey;
    private readonly RedisKey _versionsKey;
    private readonly RedisChannel _hintChannel;
    private TaskCompletionSource<long> _nextHint = NewHint();
    private long _latestVersion = -1;
    private long _rejectedSnapshots;
    private int _disposed;

    private RedisWeightStore(RedisOptions options, ConnectionMultiplexer redis, ILogger logger)
    {
        _options = options;
        _redis = redis;
        _db = redis.GetDatabase();
        _logger = logger;
        _keys = new RedisKeyspace(options.KeyPrefix);
        _latestKey = _keys.Latest;
        _versionsKey = _keys.Versions;
        _hintChannel = RedisChannel.Literal(_keys.HintChannel);
    }

    /// <summary>The APS divergence board on this store's connection and key prefix.</summary>
    public IDivergenceBoard CreateDivergenceBoard() => new RedisDivergenceBoard(_db, _keys);

    /// <summary>Connects, subscribes to version hints and reads the current latest version.</summary>
    public static async Task<RedisWeightStore> ConnectAsync(RedisOptions options, ILogger? logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var redis = await ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        var store = new RedisWeightStore(options, redis, logger ?? NullLogger.Instance);
        try
        {
            // AbortOnConnectFail=false returns a multiplexer that keeps retrying; a first command tells the caller now
            // whether the server is reachable and the password right.
            await store.RefreshLatestVersionAsync(cancellationToken).ConfigureAwait(false);
            if (options.SubscribeToHints)
                await redis.GetSubscriber().SubscribeAsync(store._hintChannel, (_, value) => store.OnHint(value))
                    .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return store;
    }

    /// <summary>Raised (on a Redis thread) when a publisher announces a new version. A hint, not a guarantee.</summary>
    public event EventHandler<long>? VersionHinted;

    /// <summary>The newest version this store has seen (published, loaded, refreshed or hinted); -1 before any.</summary>
    public long LatestVersion => Interlocked.Read(ref _latestVersion);

    /// <summary>Snapshots that were found torn, partial or corrupt and therefore not loaded.</summary>
    public long RejectedSnapshots => Interlocked.Read(ref _rejectedSnapshots);

    public RedisOptions Options => _options;

    /// <summary>Reads <c>latest</c> from Redis and returns it (-1 when nothing is published).</summary>
    public async Task<long> RefreshLatestVersionAsync(CancellationToken cancellationToken)
    {
        long latest = await ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        ObserveVersion(latest);
        return latest;
    }

    /// <summary>
    /// Waits for the next version hint; false when <paramref name="timeout"/> passes first (always, for a store
    /// without <see cref="RedisOptions.SubscribeToHints"/>).
    /// </summary>
    public async Task<bool> WaitForHintAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var hint = Volatile.Read(ref _nextHint).Task;
        try
        {
            await hint.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns at once when a version above <paramref name="knownVersion"/> has already been seen, else waits for the next
    /// hint; false when <paramref name="timeout"/> passes first. The hint is taken before the check, so a hint that
    /// lands between the two is not missed (an on-policy runner waits here after every unroll).
    /// </summary>
    public async Task<bool> WaitForVersionAboveAsync(long knownVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var hint = Volatile.Read(ref _nextHint).Task;
        if (LatestVersion > knownVersion)
            return true;
        try
        {
            await hint.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask PublishAsync(WeightSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long version = snapshot.Version;
        ArgumentOutOfRangeException.ThrowIfNegative(version, nameof(snapshot));

        var payload = ToLittleEndianBytes(snapshot.Values);
        int chunkSize = _options.ChunkBytes;
        int chunkCount = Math.Max(1, (payload.Length + chunkSize - 1) / chunkSize);
        var manifest = new WeightManifest
        {
            SchemaVersion = ManifestSchemaVersion,
            Version = version,
            ParameterCount = snapshot.Values.Length,
            Dtype = Dtype,
            ByteLength = payload.Length,
            ChunkSize = chunkSize,
            ChunkCount = chunkCount,
            Sha256 = UnsafeByteOperations.UnsafeWrap(SHA256.HashData(payload)),
            CreatedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        if (snapshot.Network is { } network)
        {
            manifest.Network = new Protos.NetworkDescription
            {
                Backend = RLMesh.Core.Nn.NetworkFactory.Name(network.Backend),
                Net = RLMesh.Core.Nn.NetworkFactory.Name(network.Torso),
                LstmSize = network.LstmSize,
            };
            manifest.Network.ObservationShape.AddRange(network.ObservationShape);
        }

        long moved = chunkCount == 1
            ? await PublishInOneScriptAsync(version, manifest, payload, cancellationToken).ConfigureAwait(false)
            : await PublishInStepsAsync(version, manifest, payload, chunkCount, chunkSize, cancellationToken).ConfigureAwait(false);
        if (moved != -2)
            throw VersionReused(version, moved); // this or another publisher got there first
        ObserveVersion(version);
        Log.Published(_logger, _options.KeyPrefix, version, payload.Length, chunkCount);
        if (_options.CollectOnPublish)
            await CollectOldVersionsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A single-chunk snapshot (every control-sized network) in one script and one round trip: the learner publishes
    /// every few milliseconds, and each round trip was a version of staleness for the runners.
    /// </summary>
    private async Task<long> PublishInOneScriptAsync(long version, WeightManifest manifest, byte[] payload, CancellationToken cancellationToken)
    {
        RedisKey[] keys = [_latestKey, _versionsKey, ManifestKey(version), ChunkKey(version, 0)];
        RedisValue[] args = [version, $"{version}:1", manifest.ToByteArray(), HintChannelName, payload];
        return (long)await _db.ScriptEvaluateAsync(PublishScript, keys, args).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A multi-chunk snapshot in three round trips: reserve the version, write the chunks with native SETs (megabytes
    /// through Lua strings doubled the latency of a 4 MB snapshot), then commit manifest, latest and hint in a script.
    /// </summary>
    private async Task<long> PublishInStepsAsync(long version, WeightManifest manifest, byte[] payload, int chunkCount, int chunkSize,
        CancellationToken cancellationToken)
    {
        var reserved = (long)await _db.ScriptEvaluateAsync(ReserveScript, [_latestKey, _versionsKey], [version, $"{version}:{chunkCount}"])
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (reserved != -2)
            return reserved;
        var writes = new Task[chunkCount];
        for (int i = 0; i < chunkCount; i++)
        {
            int offset = i * chunkSize;
            writes[i] = _db.StringSetAsync(ChunkKey(version, i), payload.AsSpan(offset, Math.Min(chunkSize, payload.Length - offset)).ToArray());
        }
        await Task.WhenAll(writes).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (long)await _db.ScriptEvaluateAsync(CommitScript, [_latestKey, ManifestKey(version)], [version, manifest.ToByteArray(), HintChannelName])
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private string HintChannelName => _keys.HintChannel;

    public async ValueTask<WeightSnapshot?> TryGetNewerAsync(long knownVersion, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var (latest, snapshot, fault) = await TryLoadNewerAsync(knownVersion, cancellationToken).ConfigureAwait(false);
        if (latest <= knownVersion || snapshot is not null)
            return snapshot;

        // Retention may have removed the version while we read it, because newer ones landed meanwhile.
        // Then the newest one is the one to try; a fault on a version that is still latest is real.
        var (newer, retried, retryFault) = await TryLoadNewerAsync(knownVersion, cancellationToken).ConfigureAwait(false);
        if (newer != latest && newer > knownVersion)
        {
            Log.VersionMovedDuringLoad(_logger, _options.KeyPrefix, latest, newer, fault!);
            if (retried is not null)
                return retried;
            (latest, fault) = (newer, retryFault);
        }
        Interlocked.Increment(ref _rejectedSnapshots);
        Log.SnapshotRejected(_logger, _options.KeyPrefix, latest, knownVersion, fault!);
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        try
        {
            if (_options.SubscribeToHints)
                await _redis.GetSubscriber().UnsubscribeAsync(_hintChannel).ConfigureAwait(false);
            await _redis.CloseAsync(allowCommandsToComplete: true).ConfigureAwait(false);
        }
        catch (RedisException e)
        {
            Log.CloseFailed(_logger, _options.KeyPrefix, e.Message);
        }
        _redis.Dispose();
        Volatile.Read(ref _nextHint).TrySetCanceled();
    }

    /// <summary>
    /// Latest, and when it is newer than <paramref name="knownVersion"/> its manifest and chunks, then verified here
    /// (chunk count and sizes, SHA-256). One round trip for a single-chunk snapshot when latest is the version expected
    /// (the newest one seen in hints, else the next after <paramref name="knownVersion"/>); one more otherwise, and one
    /// more for the chunks of a multi-chunk snapshot. A fault names what was wrong; nothing unverified is returned.
    /// </summary>
    private async Task<(long Latest, WeightSnapshot? Snapshot, string? Fault)> TryLoadNewerAsync(long knownVersion, CancellationToken cancellationToken)
    {
        long expected = Math.Max(LatestVersion, knownVersion + 1);
        RedisKey[] keys = [_latestKey, _keys.Manifest(expected), _keys.Chunk(expected, 0), _keys.Chunk(expected, 1)];
        var reply = (RedisResult[])(await _db.ScriptEvaluateAsync(LoadNewerScript, keys, [knownVersion, expected])
            .WaitAsync(cancellationToken).ConfigureAwait(false))!;
        long latest = ParseVersion(reply[0]);
        ObserveVersion(latest);
        if (latest <= knownVersion)
            return (latest, null, null);
        byte[]? manifestBytes;
        byte[]?[] chunks;
        if (reply.Length > 1)
        {
            manifestBytes = (byte[]?)reply[1];
            chunks = new byte[]?[reply.Length - 2];
            for (int i = 0; i < chunks.Length; i++)
                chunks[i] = (byte[]?)reply[i + 2];
        }
        else
        {
            // Latest is not the version expected: read that one by name (manifest and first chunk in one MGET).
            var head = await _db.StringGetAsync([_keys.Manifest(latest), _keys.Chunk(latest, 0)]).WaitAsync(cancellationToken).ConfigureAwait(false);
            manifestBytes = (byte[]?)head[0];
            chunks = [(byte[]?)head[1]];
        }
        if (ChunkCountOf(manifestBytes) is int count && count > chunks.Length)
        {
            var chunkKeys = new RedisKey[count];
            for (int i = 0; i < count; i++)
                chunkKeys[i] = ChunkKey(latest, i);
            var values = await _db.StringGetAsync(chunkKeys).WaitAsync(cancellationToken).ConfigureAwait(false);
            chunks = Array.ConvertAll(values, v => (byte[]?)v);
        }
        var (snapshot, fault) = Verify(latest, manifestBytes, chunks);
        return (latest, snapshot, fault);
    }

    /// <summary>The manifest's chunk count when it parses to a plausible one (Verify reports what is wrong otherwise).</summary>
    private static int? ChunkCountOf(byte[]? manifestBytes)
    {
        if (manifestBytes is null)
            return null;
        try
        {
            int count = WeightManifest.Parser.ParseFrom(manifestBytes).ChunkCount;
            return count is > 0 and <= 1 << 20 ? count : null;
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private long ParseVersion(RedisResult value)
    {
        if (value.IsNull)
            return -1;
        if (!long.TryParse((string?)value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long latest))
            throw new InvalidOperationException($"Redis key {_latestKey} holds '{value}', which is not a version number.");
        return latest;
    }

    private (WeightSnapshot? Snapshot, string? Fault) Verify(long version, byte[]? manifestBytes, byte[]?[] chunks)
    {
        if (manifestBytes is null)
            return (null, "the manifest is missing");
        WeightManifest manifest;
        try
        {
            manifest = WeightManifest.Parser.ParseFrom(manifestBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            return (null, $"the manifest is not a protobuf WeightManifest ({e.Message})");
        }
        if (ValidateManifest(manifest, version) is { } manifestFault)
            return (null, manifestFault);
        if (chunks.Length < manifest.ChunkCount)
            return (null, $"chunk {chunks.Length} of {manifest.ChunkCount} is missing");

        var values = new float[manifest.ParameterCount];
        var payload = MemoryMarshal.AsBytes(values.AsSpan());
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < manifest.ChunkCount; i++)
        {
            var chunk = chunks[i];
            long offset = (long)i * manifest.ChunkSize;
            long expected = Math.Min(manifest.ChunkSize, manifest.ByteLength - offset);
            if (chunk is null)
                return (null, $"chunk {i} of {manifest.ChunkCount} is missing");
            if (chunk.Length != expected)
                return (null, $"chunk {i} has {chunk.Length} bytes, expected {expected}");
            hash.AppendData(chunk);
            chunk.CopyTo(payload[(int)offset..]);
        }
        var digest = hash.GetHashAndReset();
        if (!manifest.Sha256.Span.SequenceEqual(digest))
            return (null, "the payload's SHA-256 does not match the manifest");
        if (!BitConverter.IsLittleEndian)
            ReverseFloatBytes(payload);
        RLMesh.Core.Nn.NetworkDescription? described = null;
        if (manifest.Network is { } n)
        {
            try
            {
                described = new(RLMesh.Core.Nn.NetworkFactory.ParseBackend(n.Backend), RLMesh.Core.Nn.NetworkFactory.ParseTorso(n.Net),
                    n.LstmSize, [.. n.ObservationShape]);
            }
            catch (RLMesh.Core.Nn.NetworkConfigurationException e)
            {
                return (null, $"the manifest's network description is invalid ({e.Message})");
            }
        }
        return (new WeightSnapshot(version, values) { Network = described }, null);
    }

    private string? ValidateManifest(WeightManifest m, long version)
    {
        if (m.SchemaVersion != ManifestSchemaVersion)
            return $"manifest schema_version {m.SchemaVersion} is unknown";
        if (m.Version != version)
            return $"manifest says version {m.Version}, its key says {version}";
        if (m.Dtype != Dtype)
            return $"dtype '{m.Dtype}' is not {Dtype}";
        if (m.ParameterCount < 0 || m.ParameterCount > Array.MaxLength / sizeof(float))
            return $"parameter_count {m.ParameterCount} is out of range";
        if (m.ByteLength != m.ParameterCount * sizeof(float))
            return $"byte_length {m.ByteLength} is not parameter_count * 4";
        if (m.ChunkSize <= 0 || m.ChunkSize % sizeof(float) != 0)
            return $"chunk_size {m.ChunkSize} is not a positive multiple of 4";
        long chunks = Math.Max(1, (m.ByteLength + m.ChunkSize - 1) / m.ChunkSize);
        if (m.ChunkCount != chunks)
            return $"chunk_count {m.ChunkCount} does not fit byte_length {m.ByteLength} in chunks of {m.ChunkSize}";
        if (m.Sha256.Length != SHA256.HashSizeInBytes)
            return $"sha256 has {m.Sha256.Length} bytes";
        return null;
    }

    /// <summary>
    /// Retention: UNLINKs every version older than the newest <see cref="RedisOptions.RetainVersions"/> and returns how
    /// many it removed. Runs after each publish when <see cref="RedisOptions.CollectOnPublish"/> is set; in distributed
    /// mode the parameter server is the one owner and calls this on its own schedule.
    /// </summary>
    public async Task<int> CollectOldVersionsAsync(CancellationToken cancellationToken)
    {
        int removed = 0;
        var old = await _db.SortedSetRangeByRankAsync(_versionsKey, 0, -(_options.RetainVersions + 1))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var member in old)
        {
            var parts = ((string?)member ?? "").Split(':');
            if (parts.Length != 2
                || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long version)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int chunkCount))
            {
                await _db.SortedSetRemoveAsync(_versionsKey, member).WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            var keys = new RedisKey[chunkCount + 1];
            keys[0] = ManifestKey(version); // manifest first: a reader then sees "missing", never a half-deleted set
            for (int i = 0; i < chunkCount; i++)
                keys[i + 1] = ChunkKey(version, i);
            await UnlinkAsync(keys, cancellationToken).ConfigureAwait(false);
            await _db.SortedSetRemoveAsync(_versionsKey, member).WaitAsync(cancellationToken).ConfigureAwait(false);
            Log.Collected(_logger, _options.KeyPrefix, version);
            removed++;
        }
        return removed;
    }

    /// <summary>UNLINK frees memory off Redis's main thread; servers older than 4.0 lack it and get DEL.</summary>
    private async Task UnlinkAsync(RedisKey[] keys, CancellationToken cancellationToken)
    {
        try
        {
            // RedisKey arguments (not strings) let the client route the command to the keys' slot on a cluster.
            await _db.ExecuteAsync("UNLINK", keys.Cast<object>().ToArray()).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase))
        {
            await _db.KeyDeleteAsync(keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<long> ReadLatestAsync(CancellationToken cancellationToken)
    {
        var value = await _db.StringGetAsync(_latestKey).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (value.IsNull)
            return -1;
        if (!long.TryParse((string?)value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long latest))
            throw new InvalidOperationException($"Redis key {_latestKey} holds '{value}', which is not a version number.");
        return latest;
    }

    private void OnHint(RedisValue value)
    {
        if (!long.TryParse((string?)value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long version))
            return;
        ObserveVersion(version);
        Interlocked.Exchange(ref _nextHint, NewHint()).TrySetResult(version);
        VersionHinted?.Invoke(this, version);
    }

    private void ObserveVersion(long version)
    {
        long seen = Interlocked.Read(ref _latestVersion);
        while (version > seen)
        {
            long previous = Interlocked.CompareExchange(ref _latestVersion, version, seen);
            if (previous == seen)
                return;
            seen = previous;
        }
    }

    private InvalidOperationException VersionReused(long version, long latest) =>
        new($"Weight version {version} is not newer than the latest published version {latest} under '{_options.KeyPrefix}'; " +
            "versions are never reused.");

    private RedisKey ChunkKey(long version, int index) => _keys.Chunk(version, index);

    private RedisKey ManifestKey(long version) => _keys.Manifest(version);

    private static TaskCompletionSource<long> NewHint() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static byte[] ToLittleEndianBytes(float[] values)
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
            ReverseFloatBytes(bytes);
        return bytes;
    }

    private static void ReverseFloatBytes(Span<byte> bytes)
    {
        for (int i = 0; i + 3 < bytes.Length; i += 4)
            bytes.Slice(i, 4).Reverse();
    }

    /// <summary>
    /// A multiplexer for <paramref name="options"/> that has not necessarily connected yet (AbortOnConnectFail off: it
    /// keeps retrying in the background, so a Redis restart is survived); callers send a first command to find out.
    /// </summary>
    internal static Task<ConnectionMultiplexer> ConnectAsync(RedisOptions options, CancellationToken cancellationToken)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration);
        if (options.Password is not null)
            configuration.Password = options.Password;
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        return ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2201, Level = LogLevel.Debug,
            Message = "Published weights {Prefix} v{Version}: {Bytes} bytes in {Chunks} chunks")]
        public static partial void Published(ILogger logger, string prefix, long version, int bytes, int chunks);

        [LoggerMessage(EventId = 2202, Level = LogLevel.Error,
            Message = "Refusing weights {Prefix} v{Version} (keeping v{KnownVersion}): {Fault}")]
        public static partial void SnapshotRejected(ILogger logger, string prefix, long version, long knownVersion, string fault);

        [LoggerMessage(EventId = 2203, Level = LogLevel.Debug,
            Message = "Weights {Prefix} v{Version} became unloadable ({Fault}) while v{Newer} landed; trying v{Newer}")]
        public static partial void VersionMovedDuringLoad(ILogger logger, string prefix, long version, long newer, string fault);

        [LoggerMessage(EventId = 2204, Level = LogLevel.Debug, Message = "Deleted weights {Prefix} v{Version} (retention)")]
        public static partial void Collected(ILogger logger, string prefix, long version);

        [LoggerMessage(EventId = 2205, Level = LogLevel.Warning, Message = "Closing Redis for {Prefix} failed: {Reason}")]
        public static partial void CloseFailed(ILogger logger, string prefix, string reason);
    }
}
