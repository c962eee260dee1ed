using RLMesh.Core.Data;

namespace RLMesh.Core.Envs;

/// <summary>
/// The vector-environment contract a training loop is written against: the local <see cref="VectorEnv"/> and
/// RLMesh.Remote's RemoteVectorEnv both implement it, so the same loop runs unchanged on either.
/// Gymnasium 1.x next-step autoreset: the step after a sub-env's episode ended ignores its action, resets it and
/// returns the reset observation with reward 0, both flags false and autoreset true. Arrays are env-major
/// [NumEnvs * size]; slot i is always the same sub-environment.
/// </summary>
public interface IVectorEnv
{
    int NumEnvs { get; }
    string Id { get; }
    Space SingleObservationSpace { get; }
    Space SingleActionSpace { get; }
    int ObservationSize { get; }
    /// <summary>Floats per action: 1 for Discrete, the Box size for continuous envs.</summary>
    int ActionSize { get; }

    /// <summary>Resets every sub-env; with a seed, sub-env i gets seed + i (Gymnasium's rule).</summary>
    void Reset(ulong? seed, Span<float> observations);

    /// <summary>One step of every sub-env; terminated and truncated are reported apart.</summary>
    void Step(ReadOnlySpan<float> actions, Span<float> observations, Span<float> rewards,
        Span<bool> terminated, Span<bool> truncated, Span<bool> autoreset);

    /// <summary>Moves the finished episodes (oldest first) into <paramref name="into"/>; returns how many.</summary>
    int DrainEpisodes(ICollection<EpisodeStats> into);
}
