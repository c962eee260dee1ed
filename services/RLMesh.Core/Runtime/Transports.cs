using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>
/// Where actors put unrolls and where the learner takes them from. Bounded: a full queue makes
/// producers wait (back-pressure), so memory never grows without limit. The in-memory implementation
/// serves the embedded mode; the distributed mode slots a RabbitMQ implementation in behind the same seam.
/// </summary>
public interface ITrajectoryQueue
{
    ValueTask EnqueueAsync(Trajectory trajectory, CancellationToken cancellationToken);
    ValueTask<Trajectory> DequeueAsync(CancellationToken cancellationToken);
    /// <summary>Items waiting now (a hint for metrics).</summary>
    int Depth { get; }
}

/// <summary>One published set of policy weights. <see cref="Values"/> is never mutated after publishing.</summary>
public sealed record WeightSnapshot(long Version, float[] Values)
{
    /// <summary>The architecture the values belong to; null when the transport does not carry it (not checked then).</summary>
    public NetworkDescription? Network { get; init; }

    /// <summary>A copy of the parameters the learner's actors act with (<see cref="ILearner.ActingNetwork"/>) under their version.</summary>
    public static WeightSnapshot ActingParameters(ILearner learner) =>
        new(learner.ActingVersion, learner.ActingNetwork.Parameters.Values.ToArray())
        {
            Network = NetworkDescription.Of(learner.ActingNetwork.Spec),
        };
}

/// <summary>
/// The parameter hand-over from learner to actors: the learner publishes a new version, actors check
/// between unrolls and copy it when it is newer than theirs. Redis implements it in distributed mode.
/// </summary>
public interface IWeightStore
{
    ValueTask PublishAsync(WeightSnapshot snapshot, CancellationToken cancellationToken);
    /// <summary>The newest snapshot if its version is greater than <paramref name="knownVersion"/>, else null.</summary>
    ValueTask<WeightSnapshot?> TryGetNewerAsync(long knownVersion, CancellationToken cancellationToken);
    /// <summary>The newest published version, or -1 when nothing is published yet.</summary>
    long LatestVersion { get; }
}
