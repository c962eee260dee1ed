using System.Globalization;
using RLMesh.Core.Sync;
using StackExchange.Redis;

namespace RLMesh.Messaging.Redis;

/// <summary>
/// The APS board (<see cref="IDivergenceBoard"/>) in Redis, next to the weight store and on its connection
/// (<see cref="RedisWeightStore.CreateDivergenceBoard"/>): hash <c>P:aps:divergence</c> (P the run's hash-tagged prefix,
/// <see cref="RedisKeyspace"/>) with one field per runner
/// (value <c>divergence;behaviourVersion;learnerVersion</c>, invariant culture) and string <c>P:aps:tau</c>.
/// Each call is one HSET/HGET/SET/GET: a runner reads two small values between unrolls.
/// </summary>
public sealed class RedisDivergenceBoard : IDivergenceBoard
{
    private readonly IDatabase _db;
    private readonly RedisKey _divergenceKey;
    private readonly RedisKey _tauKey;

    internal RedisDivergenceBoard(IDatabase db, RedisKeyspace keys)
    {
        _db = db;
        _divergenceKey = keys.ApsDivergence;
        _tauKey = keys.ApsTau;
    }

    public Task PublishDivergenceAsync(string runner, DivergenceReading reading) =>
        _db.HashSetAsync(_divergenceKey, runner, string.Create(CultureInfo.InvariantCulture,
            $"{reading.Divergence:R};{reading.BehaviourVersion};{reading.LearnerVersion}"));

    async ValueTask IDivergenceBoard.PublishDivergenceAsync(string runner, DivergenceReading reading, CancellationToken cancellationToken) =>
        await PublishDivergenceAsync(runner, reading).WaitAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<DivergenceReading?> ReadDivergenceAsync(string runner, CancellationToken cancellationToken)
    {
        var value = await _db.HashGetAsync(_divergenceKey, runner).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (value.IsNull) return null;
        var parts = ((string)value!).Split(';');
        return parts.Length == 3
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double divergence)
            && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long behaviour)
            && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long learner)
            ? new DivergenceReading(divergence, behaviour, learner)
            : null; // a malformed value is no reading: the runner falls back on its lag cap
    }

    public async ValueTask PublishThresholdAsync(double tau, CancellationToken cancellationToken) =>
        await _db.StringSetAsync(_tauKey, tau.ToString("R", CultureInfo.InvariantCulture)).WaitAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<double?> ReadThresholdAsync(CancellationToken cancellationToken)
    {
        var value = await _db.StringGetAsync(_tauKey).WaitAsync(cancellationToken).ConfigureAwait(false);
        return !value.IsNull && double.TryParse((string)value!, NumberStyles.Float, CultureInfo.InvariantCulture, out double tau) && tau > 0 ? tau : null;
    }
}
