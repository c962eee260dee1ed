using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace RLMesh.Messaging.Redis;

/// <summary>
/// What a runner reports about itself, every few seconds. <paramref name="PolicyVersion"/> and
/// <paramref name="LatestVersion"/> are read at the same moment, just before sending, so their difference is the runner's
/// version lag at <paramref name="SentUnixMs"/> without the learner's progress since. -1: unknown (no weights yet; or a
/// runner from before LatestVersion existed, whose heartbeat lacks it).
/// </summary>
public sealed record RunnerHeartbeat(
    string RunnerId,
    long PolicyVersion,
    long Frames,
    long Episodes,
    double FramesPerSecond,
    long WeightPulls,
    long RejectedSnapshots,
    string Host,
    int ProcessId,
    long SentUnixMs,
    long LatestVersion = -1);

/// <summary>What the learner reports about the run, after every report interval and when it stops.</summary>
public sealed record LearnerStatus(
    long Version,
    long Frames,
    long Updates,
    long Episodes,
    double? MeanReturn,
    double FramesPerSecond,
    double MeanPolicyLag,
    /// <summary>running, solved, max-frames or stopped.</summary>
    string State,
    long CheckpointVersion,
    long SentUnixMs)
{
    public bool Finished => State is "solved" or "max-frames";
}

/// <summary>
/// Small control state of a run in Redis, next to the weight snapshots (same hash-tagged prefix P, <see cref="RedisKeyspace"/>):
/// <list type="bullet">
/// <item><c>P:runner:&lt;id&gt;</c>: the runner's last heartbeat (JSON) with a TTL, so a dead runner disappears by itself;</item>
/// <item><c>P:runners</c>: a set of runner ids ever seen (the parameter server prunes ids whose heartbeat expired long ago);</item>
/// <item><c>P:learner</c>: the learner's last status (JSON), including whether the run is finished.</item>
/// </list>
/// JSON because these are tiny, human-readable with redis-cli, and read by humans during incidents.
/// </summary>
public sealed class RedisClusterState : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly RedisOptions _options;
    private readonly RedisKeyspace _keys;
    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly ILogger _logger;

    private RedisClusterState(RedisOptions options, ConnectionMultiplexer redis, ILogger logger)
    {
        _options = options;
        _keys = new RedisKeyspace(options.KeyPrefix);
        _redis = redis;
        _db = redis.GetDatabase();
        _logger = logger;
    }

    public static async Task<RedisClusterState> ConnectAsync(RedisOptions options, ILogger? logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var redis = await RedisWeightStore.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        var state = new RedisClusterState(options, redis, logger ?? NullLogger.Instance);
        try
        {
            await state._db.PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await state.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return state;
    }

    public async Task SendHeartbeatAsync(RunnerHeartbeat heartbeat, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var value = JsonSerializer.Serialize(heartbeat, Json);
        await Task.WhenAll(
                _db.StringSetAsync(RunnerKey(heartbeat.RunnerId), value, timeToLive),
                _db.SetAddAsync(RunnersKey, heartbeat.RunnerId))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every runner id ever seen with its live heartbeat, or null when the heartbeat has expired.</summary>
    public async Task<IReadOnlyList<(string RunnerId, RunnerHeartbeat? Heartbeat)>> ReadHeartbeatsAsync(CancellationToken cancellationToken)
    {
        var ids = await _db.SetMembersAsync(RunnersKey).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (ids.Length == 0)
            return [];
        var keys = ids.Select(id => RunnerKey((string)id!)).ToArray();
        var values = await _db.StringGetAsync(keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<(string, RunnerHeartbeat?)>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            RunnerHeartbeat? heartbeat = null;
            if (!values[i].IsNull)
            {
                try
                {
                    heartbeat = JsonSerializer.Deserialize<RunnerHeartbeat>((string)values[i]!, Json);
                }
                catch (JsonException e)
                {
                    _logger.LogWarning("Ignoring an unreadable heartbeat under {Key}: {Reason}", keys[i], e.Message);
                }
            }
            result.Add(((string)ids[i]!, heartbeat));
        }
        return result;
    }

    public Task ForgetRunnerAsync(string runnerId, CancellationToken cancellationToken) =>
        _db.SetRemoveAsync(RunnersKey, runnerId).WaitAsync(cancellationToken);

    public Task WriteLearnerStatusAsync(LearnerStatus status, CancellationToken cancellationToken) =>
        _db.StringSetAsync(LearnerKey, JsonSerializer.Serialize(status, Json)).WaitAsync(cancellationToken);

    public async Task<LearnerStatus?> ReadLearnerStatusAsync(CancellationToken cancellationToken)
    {
        var value = await _db.StringGetAsync(LearnerKey).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (value.IsNull)
            return null;
        try
        {
            return JsonSerializer.Deserialize<LearnerStatus>((string)value!, Json);
        }
        catch (JsonException e)
        {
            _logger.LogWarning("Ignoring an unreadable learner status under {Key}: {Reason}", LearnerKey, e.Message);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _redis.CloseAsync(allowCommandsToComplete: true).ConfigureAwait(false);
        }
        catch (RedisException e)
        {
            _logger.LogWarning("Closing Redis for {Prefix} failed: {Reason}", _options.KeyPrefix, e.Message);
        }
        _redis.Dispose();
    }

    private RedisKey RunnerKey(string runnerId) => _keys.Runner(runnerId);
    private RedisKey RunnersKey => _keys.Runners;
    private RedisKey LearnerKey => _keys.Learner;
}
