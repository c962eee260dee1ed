namespace RLMesh.Messaging.Codec;

/// <summary>
/// A message read from the wire is not something we can accept: not protobuf, a schema we do not know,
/// inconsistent sizes, or non-finite numbers. Consumers dead-letter such messages; they are never retried.
/// </summary>
public sealed class InvalidMessageException : Exception
{
    public InvalidMessageException(string reason)
        : base(reason)
    {
        Reason = reason;
    }

    public InvalidMessageException(string reason, Exception innerException)
        : base(reason, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the message was rejected, in a sentence fit for a log line.</summary>
    public string Reason { get; }

    /// <summary>
    /// A small fixed vocabulary for a <see cref="Reason"/> (the <c>reason</c> label of rlmesh_dead_letters_total, which
    /// must not carry free text): <c>undecodable</c> (not protobuf), <c>schema</c> (unknown schema version),
    /// <c>non-finite</c> (NaN or infinity) or <c>shape</c> (sizes that do not add up).
    /// </summary>
    public static string Classify(string reason) =>
        reason.Contains("is not a protobuf", StringComparison.Ordinal) ? "undecodable"
        : reason.Contains("schema_version", StringComparison.Ordinal) ? "schema"
        : reason.Contains("NaN", StringComparison.Ordinal) || reason.Contains("not finite", StringComparison.Ordinal) ? "non-finite"
        : "shape";
}
