using RLMesh.Core.Envs.MinAtar;

namespace RLMesh.Core.Envs;

/// <summary>What <see cref="EnvRegistry.Make"/> builds for an id: time limit, solved threshold and spaces.</summary>
public sealed record EnvSpec(string Id, int MaxEpisodeSteps, float? RewardThreshold, Space ObservationSpace, Space ActionSpace);

/// <summary>Thrown by <see cref="EnvRegistry"/> for an id it does not know; the message lists the known ids.</summary>
public sealed class UnknownEnvironmentException : ArgumentException
{
    public UnknownEnvironmentException(string id, IReadOnlyList<string> knownIds)
        : base($"Unknown environment id '{id}'. Known ids: {string.Join(", ", knownIds)}.", "id")
    {
        Id = id;
        KnownIds = knownIds;
    }

    public string Id { get; }
    public IReadOnlyList<string> KnownIds { get; }
}

/// <summary>The built-in environments, by Gymnasium id. Ids are case-sensitive, as in Gymnasium.</summary>
public static class EnvRegistry
{
    private sealed record Entry(string Id, Func<EnvSpec> Spec, Func<Env> Factory);

    // Immutable table; specs are built on demand so no caller can share (and mutate) space arrays.
    private static readonly Entry[] Entries =
    [
        new("CartPole-v1", CartPole.CreateSpec, static () => new CartPole()),
        new("Acrobot-v1", Acrobot.CreateSpec, static () => new Acrobot()),
        new("MountainCar-v0", MountainCar.CreateSpec, static () => new MountainCar()),
        new("Pendulum-v1", Pendulum.CreateSpec, static () => new Pendulum()),
        new("MountainCarContinuous-v0", MountainCarContinuous.CreateSpec, static () => new MountainCarContinuous()),
        .. MinAtarEntries(),
    ];

    // MinAtar/{Game}-v0 (all 6 actions) and -v1 (minimal action set), with MinAtar's default options.
    private static IEnumerable<Entry> MinAtarEntries()
    {
        foreach (var game in MinAtarEnv.Games)
        {
            foreach (bool minimal in new[] { false, true })
                yield return new($"MinAtar/{game}-{(minimal ? "v1" : "v0")}", () => MinAtarEnv.CreateSpec(game, minimal), () => new MinAtarEnv(game, minimal));
        }
    }

    public static IReadOnlyList<string> Ids => Array.ConvertAll(Entries, e => e.Id);

    public static IReadOnlyList<EnvSpec> All => Array.ConvertAll(Entries, e => e.Spec());

    /// <summary>A new environment with its time limit applied, like <c>gymnasium.make(id)</c>.</summary>
    public static Env Make(string id) => Find(id).Factory();

    public static EnvSpec Spec(string id) => Find(id).Spec();

    /// <summary>The factory for an id, e.g. for <see cref="VectorEnv"/>.</summary>
    public static Func<Env> Factory(string id) => Find(id).Factory;

    private static Entry Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        foreach (var e in Entries)
        {
            if (string.Equals(e.Id, id, StringComparison.Ordinal)) return e;
        }
        throw new UnknownEnvironmentException(id, Ids);
    }
}
