using RLMesh.Core.Data;
using RLMesh.Messaging.Codec;

namespace RLMesh.Replay;

/// <summary>
/// The seam between consumed unrolls and learner batches. IMPALA uses <see cref="FifoBatchBuilder"/>; IMPACT's
/// circular buffer (each batch reused K times) and prioritized sequence replay are other implementations.
/// The replay service calls <see cref="Add"/> for every unroll and then publishes whatever <see cref="TryTake"/> yields.
/// </summary>
public interface IBatchBuilder
{
    /// <summary>Accepts an unroll; false (and nothing kept) when its shape does not fit the batches being built.</summary>
    bool Add(Trajectory unroll);
    /// <summary>The next ready batch, if any.</summary>
    bool TryTake(out Trajectory batch);
    /// <summary>Unrolls held and not yet part of a taken batch.</summary>
    int Pending { get; }
}

/// <summary>
/// Optional second face of a batch builder that can work on unrolls in wire form (<see cref="EncodedUnroll"/>, validated
/// but not decoded). When the registered <see cref="IBatchBuilder"/> implements it, replay consumes and publishes wire
/// forms only and never decodes or re-encodes tensors; builders that need the numbers (priorities) simply do not.
/// </summary>
public interface IEncodedBatchBuilder
{
    /// <summary>As <see cref="IBatchBuilder.Add"/>.</summary>
    bool Add(EncodedUnroll unroll);
    /// <summary>As <see cref="IBatchBuilder.TryTake"/>.</summary>
    bool TryTake(out EncodedUnroll batch);
    int Pending { get; }
}

/// <summary>First in, first out: every B consecutive unrolls become one batch, concatenated along the env axis.</summary>
public sealed class FifoBatchBuilder : IBatchBuilder, IEncodedBatchBuilder
{
    private readonly int _unrollsPerBatch;
    private readonly List<Trajectory> _pending = [];
    private readonly List<EncodedUnroll> _pendingEncoded = [];

    public FifoBatchBuilder(int unrollsPerBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(unrollsPerBatch, 1);
        _unrollsPerBatch = unrollsPerBatch;
    }

    public int Pending => _pending.Count + _pendingEncoded.Count;

    bool IEncodedBatchBuilder.Add(EncodedUnroll unroll)
    {
        if (!Fits(unroll))
            return false;
        _pendingEncoded.Add(unroll);
        return true;
    }

    /// <summary>True when <paramref name="unroll"/> has the shape of the pending ones (or none is pending).</summary>
    internal bool Fits(EncodedUnroll unroll) => _pendingEncoded.Count == 0 || unroll.SharesShapeWith(_pendingEncoded[0]);

    /// <summary>True when <paramref name="unroll"/> has the shape of the pending ones (or none is pending).</summary>
    internal bool Fits(Trajectory unroll)
    {
        if (_pending.Count == 0)
            return true;
        var first = _pending[0];
        return unroll.Steps == first.Steps && unroll.ObservationSize == first.ObservationSize
            && unroll.ActionSize == first.ActionSize && unroll.PolicyOutputSize == first.PolicyOutputSize;
    }

    /// <summary>Forgets every pending unroll and returns their sources and versions.</summary>
    internal List<(string Source, long Version)> DropPending()
    {
        var dropped = _pending.Select(u => (u.Source, u.PolicyVersion))
            .Concat(_pendingEncoded.Select(u => (u.Source, u.PolicyVersion))).ToList();
        _pending.Clear();
        _pendingEncoded.Clear();
        return dropped;
    }

    bool IEncodedBatchBuilder.TryTake(out EncodedUnroll batch)
    {
        if (_pendingEncoded.Count < _unrollsPerBatch)
        {
            batch = null!;
            return false;
        }
        batch = _unrollsPerBatch == 1 ? _pendingEncoded[0] : EncodedUnroll.Concatenate(_pendingEncoded.GetRange(0, _unrollsPerBatch));
        _pendingEncoded.RemoveRange(0, _unrollsPerBatch);
        return true;
    }

    public bool Add(Trajectory unroll)
    {
        if (!Fits(unroll))
            return false;
        _pending.Add(unroll);
        return true;
    }

    public bool TryTake(out Trajectory batch)
    {
        if (_pending.Count < _unrollsPerBatch)
        {
            batch = null!;
            return false;
        }
        batch = _unrollsPerBatch == 1 ? _pending[0] : Trajectory.Concatenate(_pending.GetRange(0, _unrollsPerBatch));
        _pending.RemoveRange(0, _unrollsPerBatch);
        return true;
    }
}

/// <summary>
/// On-policy batches (ppo): every batch is <c>B</c> unrolls of one policy version, B being the number of runners, so in
/// the lockstep each runner contributes its one unroll of the learner's current version. Versions only grow (the
/// learner never reuses one), so an unroll older than the newest version seen here can never be part of an on-policy
/// batch again: it is dropped and counted (<see cref="Dropped"/>, with <see cref="LastDropped"/> for the log), and the
/// pending unrolls of an older version are dropped when the first unroll of a newer one arrives. Unrolls of the current
/// version beyond B (a runner that waited too long and stepped again, a restarted runner) are kept for the next batch
/// of that version: if the batch just formed is lost or refused, runners step again with the same version and those
/// unrolls help fill its replacement; once a newer version arrives they are dropped like any other stale unroll.
/// A batch may then hold two unrolls of one runner; it is on-policy all the same (one version, one set of parameters).
/// The learner checks again (a replay restart forgets the newest version seen) and never trains on a mixed batch.
/// </summary>
public sealed class OnPolicyBatchBuilder : IBatchBuilder, IEncodedBatchBuilder
{
    private readonly FifoBatchBuilder _fifo;
    private long _newest = -1;

    public OnPolicyBatchBuilder(int unrollsPerBatch) => _fifo = new FifoBatchBuilder(unrollsPerBatch);

    public int Pending => _fifo.Pending;
    /// <summary>Unrolls dropped because a newer version had been seen.</summary>
    public long Dropped { get; private set; }
    /// <summary>The most recent drop: the unroll's source and version, and the newest version seen then.</summary>
    public (string Source, long Version, long Newest)? LastDropped { get; private set; }

    bool IEncodedBatchBuilder.Add(EncodedUnroll unroll)
    {
        if (!_fifo.Fits(unroll))
            return false;
        if (Admit(unroll.Source, unroll.PolicyVersion))
            ((IEncodedBatchBuilder)_fifo).Add(unroll);
        return true;
    }

    bool IEncodedBatchBuilder.TryTake(out EncodedUnroll batch) => ((IEncodedBatchBuilder)_fifo).TryTake(out batch);

    public bool Add(Trajectory unroll)
    {
        if (!_fifo.Fits(unroll))
            return false;
        if (Admit(unroll.Source, unroll.PolicyVersion))
            _fifo.Add(unroll);
        return true;
    }

    public bool TryTake(out Trajectory batch) => _fifo.TryTake(out batch);

    /// <summary>True when the unroll may join the pending ones; drops the older unrolls (this one or the pending ones).</summary>
    private bool Admit(string source, long version)
    {
        if (version < _newest)
        {
            Drop(source, version);
            return false;
        }
        if (version > _newest)
        {
            _newest = version;
            foreach (var (oldSource, oldVersion) in _fifo.DropPending())
                Drop(oldSource, oldVersion);
        }
        return true;
    }

    private void Drop(string source, long version)
    {
        Dropped++;
        LastDropped = (source, version, _newest);
    }
}
