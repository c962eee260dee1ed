using RLMesh.Core.Data;

namespace RLMesh.Core.Algorithms;

/// <summary>
/// IMPACT's circular buffer (Luo et al. 2020; RLlib's MinibatchBuffer): N slots visited round-robin, each batch
/// trained on up to K times, the oldest batch the one evicted (FIFO). N = 1, K = 1 is a pass-through.
/// <para>
/// Fixed reuse (<c>opportunistic: false</c>, RLlib's behaviour): a slot whose batch has been handed out K times (or
/// that is still empty) is refilled from the inner source, waiting for it if need be, so every batch is trained on
/// exactly K times, interleaved with the other N - 1.
/// </para>
/// <para>
/// Opportunistic reuse (the default): a fresh batch that is already waiting (<see cref="IBatchSource.FreshReady"/>)
/// always goes first, into the slot under the cursor; a batch is reused only while none is waiting, and the buffer
/// waits for a fresh one only when every held batch is used up. Reuse then costs no time: it fills what would be the
/// learner's idle time (slow environments, a starved cluster learner), which is the paper's argument for it; with
/// environments faster than the learner it falls back to one use per batch, where fixed K would double the learner's
/// work per frame (measured on CartPole and Acrobot here: docs/algorithms.md).
/// </para>
/// </summary>
public sealed class ImpactCircularBuffer : IBatchSource
{
    private readonly IBatchSource _source;
    private readonly LearnerBatch?[] _slots;
    private readonly int[] _uses;
    private int _cursor;

    private readonly bool _opportunistic;

    public ImpactCircularBuffer(IBatchSource source, int batches, int reuses, bool opportunistic = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(reuses, 1);
        _source = source;
        _slots = new LearnerBatch?[batches];
        _uses = new int[batches];
        _opportunistic = opportunistic;
        Reuses = reuses;
    }

    /// <summary>N.</summary>
    public int Capacity => _slots.Length;
    /// <summary>K.</summary>
    public int Reuses { get; }
    /// <summary>Batches taken from the inner source so far.</summary>
    public long Admitted { get; private set; }
    /// <summary>Batches dropped from the buffer: after their K-th use, or (opportunistic) to make room for a fresh one.</summary>
    public long Evicted { get; private set; }

    /// <summary>Batches handed out again (not fresh) so far.</summary>
    public long Reused { get; private set; }

    public bool FreshReady => _source.FreshReady;

    public async ValueTask<LearnerBatch> NextAsync(CancellationToken cancellationToken)
    {
        int slot = _cursor;
        bool freshWaiting = _opportunistic && _source.FreshReady;
        if (_opportunistic && !freshWaiting)
        {
            // Nothing fresh waiting: reuse the next batch (from the cursor on) that has uses left, if any.
            for (int k = 0; k < _slots.Length; k++)
            {
                int candidate = (_cursor + k) % _slots.Length;
                if (_slots[candidate] is not null && _uses[candidate] < Reuses)
                {
                    slot = candidate;
                    break;
                }
            }
        }
        var current = _slots[slot];
        bool fresh = false;
        if (current is null || _uses[slot] >= Reuses || freshWaiting)
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
        if (!fresh) Reused++;
        return fresh ? current : current with { Fresh = false };
    }
}
