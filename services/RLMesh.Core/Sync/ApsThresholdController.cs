namespace RLMesh.Core.Sync;

/// <summary>Where the adaptive controller reads staleness (mean policy lag in versions of recently trained unrolls).</summary>
public interface IStalenessSource
{
    /// <summary>The current mean policy lag, or null when there is no fresh figure (the controller then holds tau).</summary>
    ValueTask<double?> ReadMeanLagAsync(CancellationToken cancellationToken);
}

/// <summary>
/// In-process staleness: the learner adds each trained unroll's lag; each read returns the mean since the
/// previous read. Lock-free; used by the embedded runtime (Prometheus' query API replaces it in a cluster).
/// </summary>
public sealed class InProcessStalenessSource : IStalenessSource
{
    private long _lagSum, _count;

    public void Add(long lag)
    {
        Interlocked.Add(ref _lagSum, lag);
        Interlocked.Increment(ref _count);
    }

    public ValueTask<double?> ReadMeanLagAsync(CancellationToken cancellationToken)
    {
        long count = Interlocked.Exchange(ref _count, 0);
        long sum = Interlocked.Exchange(ref _lagSum, 0);
        return ValueTask.FromResult(count > 0 ? (double?)sum / count : null);
    }
}

/// <summary>
/// Steers APS tau to hold a staleness target: a larger tau means fewer pulls and staler runners, so tau grows
/// while the observed lag is below the target and shrinks above it. Multiplicative (tau spans decades),
/// proportional to the relative error, clamped to [MinTau, MaxTau]. Pure: <see cref="Step"/> is the whole law.
/// </summary>
public sealed class ApsThresholdController
{
    public ApsThresholdController(double initialTau, double stalenessTarget, double gain = 0.5, double minTau = 1e-4, double maxTau = 1.0)
    {
        if (!(initialTau > 0)) throw new ArgumentOutOfRangeException(nameof(initialTau));
        if (!(stalenessTarget > 0)) throw new ArgumentOutOfRangeException(nameof(stalenessTarget));
        if (!(gain > 0)) throw new ArgumentOutOfRangeException(nameof(gain));
        if (!(minTau > 0 && maxTau >= minTau)) throw new ArgumentOutOfRangeException(nameof(minTau));
        StalenessTarget = stalenessTarget;
        Gain = gain;
        MinTau = minTau;
        MaxTau = maxTau;
        Tau = Math.Clamp(initialTau, minTau, maxTau);
    }

    public double Tau { get; private set; }
    public double StalenessTarget { get; }
    public double Gain { get; }
    public double MinTau { get; }
    public double MaxTau { get; }

    /// <summary>One control step from an observed mean lag; null (no data) holds tau. Returns the new tau.</summary>
    public double Step(double? observedLag)
    {
        if (observedLag is not double lag || !double.IsFinite(lag)) return Tau;
        double error = Math.Clamp((StalenessTarget - lag) / StalenessTarget, -2, 2);
        Tau = Math.Clamp(Tau * Math.Exp(Gain * error), MinTau, MaxTau);
        return Tau;
    }

    /// <summary>
    /// The controller loop the parameter server (or the embedded trainer) runs: every interval, read staleness,
    /// step, publish tau on the board, report it. Ends quietly on cancellation.
    /// </summary>
    public async Task RunAsync(IStalenessSource source, IDivergenceBoard board, TimeSpan interval, Action<double>? onTau, CancellationToken cancellationToken)
    {
        await board.PublishThresholdAsync(Tau, cancellationToken).ConfigureAwait(false);
        onTau?.Invoke(Tau);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                double? lag;
                try
                {
                    lag = await source.ReadMeanLagAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    lag = null; // an unreachable Prometheus holds tau rather than stopping the loop
                }
                double tau = Step(lag);
                await board.PublishThresholdAsync(tau, cancellationToken).ConfigureAwait(false);
                onTau?.Invoke(tau);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
