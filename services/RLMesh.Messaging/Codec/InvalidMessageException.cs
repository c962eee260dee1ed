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
}
