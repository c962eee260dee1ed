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
        if (_pendingEncoded.Count > 0 && !unroll.SharesShapeWith(_pendingEncoded[0]))
            return false;
        _pendingEncoded.Add(unroll);
        return true;
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
        if (_pending.Count > 0)
        {
            var first = _pending[0];
            if (unroll.Steps != first.Steps || unroll.ObservationSize != first.ObservationSize
                || unroll.ActionSize != first.ActionSize || unroll.PolicyOutputSize != first.PolicyOutputSize)
                return false;
        }
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
