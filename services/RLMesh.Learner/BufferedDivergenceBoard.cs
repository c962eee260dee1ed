using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RLMesh.Core.Sync;

namespace RLMesh.Learner;

/// <summary>
/// The learner's writes to the Redis APS board, off its loop: <see cref="PublishDivergenceAsync"/> keeps the newest
/// reading per runner in memory and wakes a background loop that writes the changed ones at once (then waits at least
/// <c>interval</c>, 2 ms, before the next pass), so an update never waits for a Redis round trip and readings written
/// while a pass is in flight coalesce into the next one. The delay matters: at hundreds of updates per second, a
/// fixed 100 ms cadence is tens of versions, so runners would act on divergence measured far behind the newest
/// version and APS would pull almost only at the lag cap (docs/benchmarks.md#aps-lag-cap). Reads go straight to Redis.
/// </summary>
internal sealed class BufferedDivergenceBoard : IDivergenceBoard, IAsyncDisposable
{
    private readonly IDivergenceBoard _inner;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, DivergenceReading> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly Task _loop;

    public BufferedDivergenceBoard(IDivergenceBoard inner, ILogger logger, TimeSpan? interval = null)
    {
        _inner = inner;
        _logger = logger;
        _loop = Task.Run(() => LoopAsync(interval ?? TimeSpan.FromMilliseconds(2), _stop.Token));
    }

    public ValueTask PublishDivergenceAsync(string runner, DivergenceReading reading, CancellationToken cancellationToken)
    {
        _pending[runner] = reading;
        Wake();
        return ValueTask.CompletedTask;
    }

    public ValueTask<DivergenceReading?> ReadDivergenceAsync(string runner, CancellationToken cancellationToken) =>
        _inner.ReadDivergenceAsync(runner, cancellationToken);

    public ValueTask PublishThresholdAsync(double tau, CancellationToken cancellationToken) => _inner.PublishThresholdAsync(tau, cancellationToken);

    public ValueTask<double?> ReadThresholdAsync(CancellationToken cancellationToken) => _inner.ReadThresholdAsync(cancellationToken);

    private async Task LoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private void Wake()
    {
        try
        {
            if (_signal.CurrentCount == 0) _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // another publish woke the loop first
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var runner in _pending.Keys)
        {
            if (!_pending.TryRemove(runner, out var reading)) continue;
            try
            {
                await _inner.PublishDivergenceAsync(runner, reading, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _pending.TryAdd(runner, reading); // Redis is away: keep it for the next pass unless a newer one came
                _logger.LogWarning("Publishing APS divergence for {Runner} failed: {Reason}", runner, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                Wake();
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _signal.Dispose();
    }
}
