namespace RLMesh.Remote;

/// <summary>
/// A remote vector environment cannot go on: a runner was lost and its slots could not be (or were configured not
/// to be) re-assigned, a runner reported an environment error, or the protocol was broken. The message names the
/// slots and the runner.
/// </summary>
public sealed class RemoteEnvException : Exception
{
    public RemoteEnvException(string message, IReadOnlyList<int> slots, string? runnerId = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Slots = slots;
        RunnerId = runnerId;
    }

    /// <summary>The vector slots left without an environment (empty when the fault is not about slots).</summary>
    public IReadOnlyList<int> Slots { get; }
    public string? RunnerId { get; }
}

/// <summary>A peer refused the handshake or broke the protocol (version mismatch, wrong env ...).</summary>
public sealed class RemoteProtocolException(string message) : Exception(message);
