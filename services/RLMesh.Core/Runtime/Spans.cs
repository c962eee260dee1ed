using System.Diagnostics;

namespace RLMesh.Core.Runtime;

/// <summary>
/// The one ActivitySource of the platform and its span names. Starting a span costs nothing while no listener
/// is attached (StartActivity returns null); RLMesh.Telemetry attaches the OpenTelemetry SDK when OTEL_* asks for it.
/// </summary>
public static class Spans
{
    public const string SourceName = "RLMesh";
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A runner publishes an unroll.</summary>
    public const string Publish = "publish";
    /// <summary>Replay or learner consumes an unroll.</summary>
    public const string Consume = "consume";
    /// <summary>A learner batch is assembled.</summary>
    public const string Batch = "batch";
    /// <summary>One learner update.</summary>
    public const string Update = "update";
    public const string SnapshotPublish = "snapshot.publish";
    public const string SnapshotLoad = "snapshot.load";
}
