using System.Security.Cryptography;

namespace RLMesh.Core.Envs.MinAtar;

/// <summary>Settings of MinAtar's <c>Environment</c> wrapper; the defaults are the registered ones.</summary>
public sealed record MinAtarOptions
{
    /// <summary>Chance that a step repeats the previous action instead of the given one (MinAtar: 0.1).</summary>
    public double StickyActionProbability { get; init; } = 0.1;

    /// <summary>Whether the games speed up as an episode goes on (MinAtar: on).</summary>
    public bool DifficultyRamping { get; init; } = true;
}

/// <summary>
/// A MinAtar game (Young and Tian 2019) behind Gymnasium's interface, faithful to MinAtar 1.0.15: one NumPy
/// legacy MT19937 stream per environment, seeded by <c>Reset(seed)</c> and continued by <c>Reset(null)</c>;
/// every step first draws the sticky-action chance, then the game makes its own draws. The observation is the
/// 10 x 10 x C boolean grid as 0/1 floats in (y, x, c) order. No time limit: an episode ends only when the game
/// ends it, so <c>truncated</c> is always false.
/// </summary>
public sealed class MinAtarEnv : Env
{
    /// <summary>The five games, as they appear in the ids <c>MinAtar/{Game}-v0|v1</c>.</summary>
    public static IReadOnlyList<string> Games { get; } = ["Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders"];

    private readonly NumPyRandomState _random;
    private readonly MinAtarGame _game;
    private readonly int[] _actionSet;
    private readonly double _stickyActionProbability;
    // MinAtar's Environment starts with action 0 remembered and never clears it on reset.
    private int _lastAction;

    /// <param name="game">One of <see cref="Games"/>.</param>
    /// <param name="minimalActionSet">True for the -v1 ids (actions index the game's minimal set), false for -v0 (all 6).</param>
    /// <param name="options">Sticky actions and difficulty ramping; null for MinAtar's defaults.</param>
    public MinAtarEnv(string game, bool minimalActionSet, MinAtarOptions? options = null)
        : this(CreateParts(game, minimalActionSet, options ?? new MinAtarOptions()))
    {
    }

    private MinAtarEnv((EnvSpec Spec, MinAtarGame Game, NumPyRandomState Random, int[] ActionSet, double Sticky) parts)
        : base(parts.Spec)
    {
        _game = parts.Game;
        _random = parts.Random;
        _actionSet = parts.ActionSet;
        _stickyActionProbability = parts.Sticky;
    }

    /// <summary>The full-set actions this env's action indices map to (e.g. Breakout-v1: 0, 1, 3).</summary>
    public IReadOnlyList<int> ActionSet => _actionSet;

    /// <summary>Object planes in the observation.</summary>
    public int Channels => _game.Channels;

    public double StickyActionProbability => _stickyActionProbability;

    /// <summary>The spec of <c>MinAtar/{game}-v0</c> (all 6 actions) or <c>-v1</c> (minimal set).</summary>
    public static EnvSpec CreateSpec(string game, bool minimalActionSet)
    {
        var probe = CreateGame(game, new NumPyRandomState(0), ramping: true);
        return CreateSpec(probe, minimalActionSet);
    }

    private static EnvSpec CreateSpec(MinAtarGame game, bool minimalActionSet)
    {
        int actions = minimalActionSet ? game.MinimalActionSet.Length : MinAtarAction.Count;
        var observation = new Box(0f, 1f, MinAtarGame.Size, MinAtarGame.Size, game.Channels) { DType = BoxDType.UInt8 };
        return new EnvSpec($"MinAtar/{game.Name}-{(minimalActionSet ? "v1" : "v0")}", int.MaxValue, null, observation, new Discrete(actions));
    }

    private static (EnvSpec, MinAtarGame, NumPyRandomState, int[], double) CreateParts(string game, bool minimalActionSet, MinAtarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double sticky = options.StickyActionProbability;
        if (!(sticky >= 0 && sticky <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), sticky, "MinAtar's sticky action probability must be within [0, 1].");
        // Unseeded like MinAtar's own RandomState(None): entropy until the first seeded reset.
        var random = new NumPyRandomState(BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4)));
        var instance = CreateGame(game, random, options.DifficultyRamping);
        int[] actionSet = minimalActionSet ? (int[])instance.MinimalActionSet.Clone() : [0, 1, 2, 3, 4, 5];
        return (CreateSpec(instance, minimalActionSet), instance, random, actionSet, sticky);
    }

    private static MinAtarGame CreateGame(string game, NumPyRandomState random, bool ramping)
    {
        ArgumentNullException.ThrowIfNull(game);
        return game switch
        {
            "Asterix" => new Asterix(random, ramping),
            "Breakout" => new Breakout(random),
            "Freeway" => new Freeway(random),
            "Seaquest" => new Seaquest(random, ramping),
            "SpaceInvaders" => new SpaceInvaders(random, ramping),
            _ => throw new ArgumentException($"Unknown MinAtar game '{game}'. Known games: {string.Join(", ", Games)}.", nameof(game)),
        };
    }

    public override int StateSize => 0;

    protected override string StateDescription => "none: a MinAtar game is started by Reset(seed), not from a given state";

    protected override void OnSeed(ulong seed) => _random.Seed(seed);

    protected override void ResetCore(ref Rng rng) => _game.Reset();

    protected override StepOutcome StepCore(ReadOnlySpan<float> action, Span<float> observation)
    {
        int index = DiscreteAction(action[0], _actionSet.Length);
        int used = _actionSet[index];
        // MinAtar draws the sticky chance on every step, whatever the probability.
        if (_random.Rand() < _stickyActionProbability) used = _lastAction;
        _lastAction = used;
        var (reward, terminal) = _game.Act(used);
        WriteObservation(observation);
        return new StepOutcome(reward, terminal, false);
    }

    protected override void SetStateCore(ReadOnlySpan<double> state)
        => throw new NotSupportedException($"{Id} has no settable state; start episodes with Reset(seed).");

    protected override void GetStateCore(Span<double> state) { }

    protected override void WriteObservation(Span<float> observation)
    {
        observation.Clear();
        _game.WriteState(observation);
    }
}
