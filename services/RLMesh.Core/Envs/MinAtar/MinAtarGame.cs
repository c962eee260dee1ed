namespace RLMesh.Core.Envs.MinAtar;

/// <summary>MinAtar's full action set, by index (what every game's <c>act</c> receives).</summary>
internal static class MinAtarAction
{
    public const int NoOp = 0;
    public const int Left = 1;
    public const int Up = 2;
    public const int Right = 3;
    public const int Down = 4;
    public const int Fire = 5;
    public const int Count = 6;
}

/// <summary>
/// One MinAtar game on its 10 x 10 grid: the rules only. Sticky actions, action sets and seeding live in
/// <see cref="MinAtarEnv"/>. The game draws from the environment's single <see cref="NumPyRandomState"/>.
/// </summary>
internal abstract class MinAtarGame
{
    public const int Size = 10;

    protected MinAtarGame(NumPyRandomState random, bool ramping)
    {
        Random = random;
        Ramping = ramping;
    }

    protected NumPyRandomState Random { get; }
    protected bool Ramping { get; }

    /// <summary>The game's name as in its ids, e.g. "Breakout".</summary>
    public abstract string Name { get; }

    /// <summary>Number of object planes (C in the 10 x 10 x C observation).</summary>
    public abstract int Channels { get; }

    /// <summary>The game's minimal action set, as full-set indices.</summary>
    public abstract int[] MinimalActionSet { get; }

    public abstract void Reset();

    /// <summary>One game step with a full-set action; a finished game returns reward 0 and stays finished.</summary>
    public abstract (double Reward, bool Terminal) Act(int action);

    /// <summary>Sets the game's 1s in an observation already cleared to 0, (y, x, c) order.</summary>
    public abstract void WriteState(Span<float> observation);

    /// <summary>Flat index of (y, x, c) in the observation.</summary>
    protected int Index(int y, int x, int c) => (y * Size + x) * Channels + c;

    protected void Set(Span<float> observation, int y, int x, int c) => observation[Index(y, x, c)] = 1f;

    /// <summary>Python's floor division for ints (rounds toward negative infinity).</summary>
    protected static int FloorDiv(int a, int b) => (int)Math.Floor((double)a / b);
}
