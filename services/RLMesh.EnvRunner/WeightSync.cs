namespace RLMesh.EnvRunner;

/// <summary>What a runner knows when it decides whether to pull weights before its next unroll.</summary>
public readonly record struct WeightSyncContext(
    string RunnerId,
    /// <summary>The version the local policy copy holds (-1 before the first pull).</summary>
    long LocalVersion,
    /// <summary>The newest version this runner has heard of (from hints or its last look); may lag the truth.</summary>
    long KnownLatestVersion,
    /// <summary>Unrolls produced since the local copy last changed.</summary>
    long UnrollsSinceLastPull);

/// <summary>
/// The one place a runner decides "should I pull weights now?". It is asked between unrolls. Pull-every-unroll is
/// the default; Adaptive Policy Synchronization (pull when the learner-measured divergence exceeds tau) and
/// pull-every-K slot in here by registering another implementation in DI.
/// </summary>
public interface IWeightSyncPolicy
{
    bool ShouldPull(in WeightSyncContext context);
}

/// <summary>Always look for newer weights (one cheap GET of <c>latest</c>; the snapshot is fetched only when newer).</summary>
public sealed class PullEveryUnroll : IWeightSyncPolicy
{
    public bool ShouldPull(in WeightSyncContext context) => true;
}
