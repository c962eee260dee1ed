using System.Threading.Channels;
using RLMesh.Core.Data;

namespace RLMesh.Core.Runtime;

/// <summary>A bounded in-process trajectory queue (the embedded default).</summary>
public sealed class InMemoryTrajectoryQueue : ITrajectoryQueue
{
    private readonly Channel<Trajectory> _channel;

    public InMemoryTrajectoryQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _channel = Channel.CreateBounded<Trajectory>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    public int Depth => _channel.Reader.Count;

    public ValueTask EnqueueAsync(Trajectory trajectory, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(trajectory, cancellationToken);

    public ValueTask<Trajectory> DequeueAsync(CancellationToken cancellationToken) =>
        _channel.Reader.ReadAsync(cancellationToken);
}

/// <summary>Holds the latest snapshot behind one reference swap: readers never see a torn snapshot.</summary>
public sealed class InMemoryWeightStore : IWeightStore
{
    private WeightSnapshot? _latest;

    public long LatestVersion => Volatile.Read(ref _latest)?.Version ?? -1;

    public ValueTask PublishAsync(WeightSnapshot snapshot, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _latest, snapshot);
        return ValueTask.CompletedTask;
    }

    public ValueTask<WeightSnapshot?> TryGetNewerAsync(long knownVersion, CancellationToken cancellationToken)
    {
        var latest = Volatile.Read(ref _latest);
        return ValueTask.FromResult(latest is not null && latest.Version > knownVersion ? latest : null);
    }
}
