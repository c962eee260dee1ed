namespace RLMesh.Torch;

/// <summary>Process-wide libtorch settings for the torch backend (configuration section "Torch").</summary>
public sealed class TorchOptions
{
    public const string SectionName = "Torch";

    /// <summary>
    /// libtorch's intra-op thread pool size. One by default: a learner or runner is already one of several busy
    /// processes or threads per machine, and libtorch's default (one thread per core) makes them fight for cores.
    /// libtorch has a single pool per process, so the first backend created sets it.
    /// </summary>
    public int IntraOpThreads { get; set; } = 1;

    internal void Validate()
    {
        if (IntraOpThreads <= 0)
            throw new ArgumentException($"Torch:IntraOpThreads must be positive (got {IntraOpThreads}).");
    }
}
