using RLMesh.Hosting;
using RLMesh.Telemetry;

namespace RLMesh.Learner;

/// <summary>The learner's figures under their metric-catalog names.</summary>
public sealed class LearnerStats : IServiceStats
{
    public string Component => "learner";
    public long Updates { get; internal set; }
    public long Version { get; internal set; }
    public long Frames { get; internal set; }
    public long Episodes { get; internal set; }
    public double? MeanReturn { get; internal set; }
    public double LastUpdateSeconds { get; internal set; }
    public double TotalLoss { get; internal set; }
    public double PolicyLoss { get; internal set; }
    public double BaselineLoss { get; internal set; }
    public double Entropy { get; internal set; }
    public double MeanPolicyLag { get; internal set; }
    /// <summary>On-policy: batches taken and not trained on because a part came from other parameters.</summary>
    public long BatchesDiscardedStale { get; internal set; }
    public DateTimeOffset? LastCheckpoint { get; internal set; }
    public long CheckpointVersion { get; internal set; } = -1;
    public long SnapshotPublishFailures { get; internal set; }
    /// <summary>Snapshots Redis accepted (fewer than updates: see <see cref="LearnerOptions.PublishIntervalSeconds"/>).</summary>
    public long SnapshotsPublished { get; internal set; }
    public string State { get; internal set; } = "starting";
    /// <summary>Seconds spent waiting for batches (the learner is starved when this grows like wall time).</summary>
    public double WaitSeconds { get; internal set; }
    /// <summary>Seconds spent publishing snapshots.</summary>
    public double PublishSeconds { get; internal set; }

    public object Snapshot() => new Dictionary<string, object?>
    {
        [MetricCatalog.LearnerUpdates.Name] = Updates,
        [MetricCatalog.LearnerVersion.Name] = Version,
        [MetricCatalog.LearnerUpdateDuration.Name] = LastUpdateSeconds,
        [MetricCatalog.LearnerLoss.Name + "{term=total}"] = TotalLoss,
        [MetricCatalog.LearnerLoss.Name + "{term=policy}"] = PolicyLoss,
        [MetricCatalog.LearnerLoss.Name + "{term=baseline}"] = BaselineLoss,
        [MetricCatalog.LearnerEntropy.Name] = Entropy,
        [MetricCatalog.EpisodeReturnMean.Name] = MeanReturn,
        [MetricCatalog.PolicyLag.Name] = MeanPolicyLag,
        [MetricCatalog.LearnerBatchesDiscarded.Name + "{reason=stale}"] = BatchesDiscardedStale,
        [MetricCatalog.CheckpointAge.Name] = LastCheckpoint is { } t ? (DateTimeOffset.UtcNow - t).TotalSeconds : null,
        ["frames"] = Frames,
        ["episodes"] = Episodes,
        ["checkpoint_version"] = CheckpointVersion,
        ["snapshot_publish_failures"] = SnapshotPublishFailures,
        ["snapshots_published"] = SnapshotsPublished,
        ["state"] = State,
        ["batch_wait_seconds_total"] = Math.Round(WaitSeconds, 3),
        ["snapshot_publish_seconds_total"] = Math.Round(PublishSeconds, 3),
    };
}
