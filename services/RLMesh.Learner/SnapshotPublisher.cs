using Microsoft.Extensions.Logging;
using RLMesh.Core.Runtime;
using RLMesh.Messaging.Redis;

namespace RLMesh.Learner;

/// <summary>
/// Publishes weight snapshots off the learner's loop, newest first: <see cref="Offer"/> replaces any snapshot not yet
/// sent, and one background loop publishes whatever is newest, one at a time, so versions reach Redis in increasing
/// order and the learner never waits for Redis (publishing took about 40% of its time when done inline). Versions the
/// learner produced faster than Redis took them are simply skipped; runners only ever want the newest.
/// Publishes are at least <c>minInterval</c> apart (offers meanwhile coalesce into the newest): every version costs
/// Redis, the parameter server and every runner a pull, and on a shared machine that CPU is the learner's supply.
/// </summary>
internal sealed class SnapshotPublisher : IAsyncDisposable
{
    private readonly RedisWeightStore _store;
    private readonly LearnerStats _stats;
    private readonly IRuntimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TimeSpan _minInterval;
    private WeightSnapshot? _pending;
    private int _busy;

    public SnapshotPublisher(RedisWeightStore store, LearnerStats stats, IRuntimeMetrics metrics, ILogger logger, TimeSpan minInterval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minInterval, TimeSpan.Zero);
        _minInterval = minInterval;
        _metrics = metrics;
        _store = store;
        _stats = stats;
        _logger = logger;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The newest version Redis has accepted from this publisher (-1 before any).</summary>
    public long PublishedVersion { get; private set; } = -1;

    public void Offer(WeightSnapshot snapshot)
    {
        Interlocked.Exchange(ref _pending, snapshot);
        if (_signal.CurrentCount == 0)
        {
            try { _signal.Release(); } catch (SemaphoreFullException) { }
        }
    }

    /// <summary>Publishes the pending snapshot (if any) before returning; used at start and at the end of a run.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while ((Volatile.Read(ref _pending) is not null || Volatile.Read(ref _busy) != 0) && !_loop.IsCompleted)
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
        _signal.Dispose();
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        long lastStarted = 0;
        while (!token.IsCancellationRequested)
        {
            await _signal.WaitAsync(token).ConfigureAwait(false);
            // Later offers replace the pending one meanwhile. Whole milliseconds (Task.Delay truncates) and a loop (a
            // timer may fire a tick early) keep publishes strictly the interval apart.
            TimeSpan early;
            while (lastStarted != 0 && (early = _minInterval - System.Diagnostics.Stopwatch.GetElapsedTime(lastStarted)) > TimeSpan.Zero)
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(early.TotalMilliseconds)), token).ConfigureAwait(false);
            Volatile.Write(ref _busy, 1);
            // An offer again of a version already accepted (the on-policy learner re-offers its version when runners
            // seem not to have it) would be refused as a reused version: it is simply dropped.
            if (Interlocked.Exchange(ref _pending, null) is not { } snapshot || snapshot.Version <= PublishedVersion)
            {
                Volatile.Write(ref _busy, 0);
                continue;
            }
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            lastStarted = started;
            try
            {
                using (Spans.Source.StartActivity(Spans.SnapshotPublish))
                    await _store.PublishAsync(snapshot, token).ConfigureAwait(false);
                PublishedVersion = snapshot.Version;
                _stats.SnapshotsPublished++;
                _metrics.SnapshotPublished(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("never reused", StringComparison.Ordinal))
            {
                throw; // another learner publishes to this run: a configuration error, not a transient fault
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Redis is away: the next offer carries a newer version anyway.
                _stats.SnapshotPublishFailures++;
                _logger.LogWarning("Publishing weights v{Version} failed (learning goes on): {Reason}", snapshot.Version, e.Message);
            }
            _stats.PublishSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            Volatile.Write(ref _busy, 0);
        }
    }
}
