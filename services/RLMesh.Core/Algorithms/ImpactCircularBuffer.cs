using RLMesh.Core.Data;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// IMPACT's circular buffer (Luo et al. 2020; RLlib's MinibatchBuffer): N slots visited round-robin.
/// A slot whose batch has been handed out K times (or that is still empty) is refilled with a fresh
/// batch from the inner source, so every batch is trained on exactly K times, interleaved with the
/// other N - 1, and the oldest batch is the one evicted (FIFO). N = 1, K = 1 is a pass-through.
/// </summary>
public sealed class ImpactCircularBuffer : IBatchSource
{
    private readonly IBatchSource _source;
    private readonly LearnerBatch?[] _slots;
    private readonly int[] _uses;
    private int _cursor;

    public ImpactCircularBuffer(IBatchSource source, int batches, int reuses)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(reuses, 1);
        _source = source;
        _slots = new LearnerBatch?[batches];
        _uses = new int[batches];
        Reuses = reuses;
    }

    /// <summary>N.</summary>
    public int Capacity => _slots.Length;
    /// <summary>K.</summary>
    public int Reuses { get; }
    /// <summary>Batches taken from the inner source so far.</summary>
    public long Admitted { get; private set; }
    /// <summary>Batches dropped after their K-th use.</summary>
    public long Evicted { get; private set; }

    public async ValueTask<LearnerBatch> NextAsync(CancellationToken cancellationToken)
    {
        int slot = _cursor;
        var current = _slots[slot];
        bool fresh = false;
        if (current is null || _uses[slot] >= Reuses)
        {
            if (current is not null) Evicted++;
            current = await _source.NextAsync(cancellationToken).ConfigureAwait(false);
            _slots[slot] = current;
            _uses[slot] = 0;
            Admitted++;
            fresh = true;
        }
        _uses[slot]++;
        _cursor = (slot + 1) % _slots.Length;
        return fresh ? current : current with { Fresh = false };
    }
}
