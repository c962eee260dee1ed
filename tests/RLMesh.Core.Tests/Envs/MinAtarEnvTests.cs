using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Core.Envs.MinAtar;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

public class MinAtarEnvTests
{
    public static TheoryData<string> Ids()
    {
        var data = new TheoryData<string>();
        foreach (var game in MinAtarEnv.Games)
        {
            data.Add($"MinAtar/{game}-v0");
            data.Add($"MinAtar/{game}-v1");
        }
        return data;
    }

    [Fact]
    public void TheRegistryHasBothActionSetsOfEveryGame()
    {
        var ids = EnvRegistry.Ids;
        foreach (var game in MinAtarEnv.Games)
        {
            Assert.Contains($"MinAtar/{game}-v0", ids);
            Assert.Contains($"MinAtar/{game}-v1", ids);
        }
        var breakout = EnvRegistry.Spec("MinAtar/Breakout-v1");
        Assert.Equal("Box(0, 1, (10, 10, 4), uint8)", breakout.ObservationSpace.ToString());
        Assert.Equal(new Discrete(3), breakout.ActionSpace);
        Assert.Equal(new Discrete(6), EnvRegistry.Spec("MinAtar/Breakout-v0").ActionSpace);
        Assert.Equal("Box(0, 1, (10, 10, 10), uint8)", EnvRegistry.Spec("MinAtar/Seaquest-v1").ObservationSpace.ToString());
        Assert.Equal(new Discrete(4), EnvRegistry.Spec("MinAtar/SpaceInvaders-v1").ActionSpace);
        Assert.Null(breakout.RewardThreshold);
        Assert.Equal(int.MaxValue, breakout.MaxEpisodeSteps);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void ObservationsStayInTheSpaceAndSeededRunsRepeat(string id)
    {
        var first = Run(id, seed: 5, steps: 300);
        var second = Run(id, seed: 5, steps: 300);
        Assert.Equal(first, second);
        // A different seed plays differently (Space Invaders only through its sticky draws).
        Assert.NotEqual(first, Run(id, seed: 6, steps: 300));
    }

    [Fact]
    public void WithoutStickyActionsTheActionsAreFollowedExactly()
    {
        var env = new MinAtarEnv("Breakout", minimalActionSet: true, new MinAtarOptions { StickyActionProbability = 0 });
        var obs = new float[env.ObservationSize];
        env.Reset(1, obs);
        Assert.Equal(4, PaddleX(obs));
        for (int i = 0; i < 3; i++) env.Step([1f], obs); // index 1 of [0, 1, 3] is left
        Assert.Equal(1, PaddleX(obs));
    }

    [Fact]
    public void WithCertainStickinessTheFirstRememberedActionRepeatsForever()
    {
        // The wrapper starts with action 0 remembered; probability 1 never lets another through.
        var env = new MinAtarEnv("Breakout", minimalActionSet: true, new MinAtarOptions { StickyActionProbability = 1 });
        var obs = new float[env.ObservationSize];
        env.Reset(1, obs);
        for (int i = 0; i < 3; i++) env.Step([2f], obs);
        Assert.Equal(4, PaddleX(obs));
        Assert.Equal(1.0, env.StickyActionProbability);
    }

    [Fact]
    public void ResetKeepsTheRememberedAction()
    {
        // A twin stream predicts every draw: Breakout's reset draws randint(2), each step one sticky rand().
        int stickyAfterReset = 0;
        for (ulong seed = 0; seed < 20; seed++)
        {
            var env = new MinAtarEnv("Breakout", minimalActionSet: true, new MinAtarOptions { StickyActionProbability = 0.5 });
            var twin = new NumPyRandomState(seed);
            var obs = new float[env.ObservationSize];
            env.Reset(seed, obs);
            twin.RandInt(2);
            // "Right" (index 2) until one step is not sticky: from then on "right" is the remembered action.
            do env.Step([2f], obs); while (twin.Rand() < 0.5);
            Assert.Equal(5, PaddleX(obs));

            env.Reset(null, obs);
            twin.RandInt(2);
            env.Step([0f], obs);
            bool sticky = twin.Rand() < 0.5;
            Assert.Equal(sticky ? 5 : 4, PaddleX(obs));
            if (sticky) stickyAfterReset++;
        }
        Assert.InRange(stickyAfterReset, 1, 19);
    }

    [Fact]
    public void BadOptionsAndActionsAreClearErrors()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new MinAtarEnv("Breakout", true, new MinAtarOptions { StickyActionProbability = 1.5 }));
        Assert.Contains("sticky", ex.Message);
        var unknown = Assert.Throws<ArgumentException>(() => new MinAtarEnv("Pong", true));
        Assert.Contains("Breakout", unknown.Message);

        var env = EnvRegistry.Make("MinAtar/Breakout-v1");
        env.Reset(0UL);
        Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(3));
        Assert.Equal(0, env.StateSize);
        Assert.Throws<NotSupportedException>(() => env.SetState(ReadOnlySpan<double>.Empty));
    }

    [Fact]
    public void FreewayEndsByItsClockAfter2501StepsAndNeverTruncates()
    {
        var env = EnvRegistry.Make("MinAtar/Freeway-v1");
        var obs = new float[env.ObservationSize];
        env.Reset(3, obs);
        int steps = 0;
        StepOutcome outcome;
        do
        {
            outcome = env.Step([1f], obs);
            steps++;
            Assert.False(outcome.Truncated);
        } while (!outcome.Terminated && steps < 10_000);
        Assert.Equal(2501, steps);
    }

    [Fact]
    public void SeaquestEndsWhenTheOxygenIsGone()
    {
        // Diving and staying down uses one unit of the 200 per step; the step that finds it at 0 ends the game.
        // Enemies end some of these runs sooner; none may outlast the oxygen.
        int outOfOxygen = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            var env = new MinAtarEnv("Seaquest", true, new MinAtarOptions { StickyActionProbability = 0 });
            var obs = new float[env.ObservationSize];
            env.Reset(seed, obs);
            int steps = 0;
            while (!env.Step([4f], obs).Terminated) steps++;
            steps++;
            Assert.InRange(steps, 1, 201);
            if (steps == 201)
            {
                outOfOxygen++;
                for (int x = 0; x < 10; x++) Assert.Equal(0f, obs[(9 * 10 + x) * 10 + 7]); // the oxygen gauge is empty
            }
        }
        Assert.True(outOfOxygen > 0, "every run met an enemy first");
    }

    [Fact]
    public void RampingCanBeTurnedOff()
    {
        // Asterix ramps its spawn interval after about 100 steps; without sticky actions, runs with the same seed
        // and actions match until then and differ afterwards only if ramping is on.
        int compared = 0;
        for (ulong seed = 0; seed < 300 && compared < 3; seed++)
        {
            var ramping = Frames(new MinAtarEnv("Asterix", true, new MinAtarOptions { StickyActionProbability = 0 }), seed);
            if (ramping.Count < 140) continue;
            var steady = Frames(new MinAtarEnv("Asterix", true, new MinAtarOptions { StickyActionProbability = 0, DifficultyRamping = false }), seed);
            Assert.Equal(ramping.Take(100), steady.Take(100));
            Assert.NotEqual(ramping.Take(140), steady.Take(140));
            compared++;
        }
        Assert.True(compared > 0, "no random Asterix episode lasted 140 steps");

        static List<string> Frames(MinAtarEnv env, ulong seed)
        {
            var obs = new float[env.ObservationSize];
            env.Reset(seed, obs);
            var rng = new Rng(seed);
            var frames = new List<string>();
            for (int t = 0; t < 200; t++)
            {
                var outcome = env.Step([rng.NextInt(5)], obs);
                frames.Add(ObservationBits.PackToHex(obs));
                if (outcome.Terminated) break;
            }
            return frames;
        }
    }

    [Fact]
    public void VectorEnvAutoresetsAMinAtarEpisode()
    {
        var vec = new VectorEnv("MinAtar/Breakout-v1", 2);
        int n = vec.ObservationSize;
        var obs = new float[2 * n];
        var rewards = new float[2];
        var terminated = new bool[2];
        var truncated = new bool[2];
        var autoreset = new bool[2];
        vec.Reset(4, obs);
        // Standing still misses the ball within a few steps.
        var actions = new float[2];
        int steps = 0;
        while (!terminated[0] && steps < 100)
        {
            vec.Step(actions, obs, rewards, terminated, truncated, autoreset);
            steps++;
        }
        Assert.True(terminated[0]);
        Assert.False(truncated[0]);
        vec.Step(actions, obs, rewards, terminated, truncated, autoreset);
        Assert.True(autoreset[0]);
        Assert.Equal(0f, rewards[0]);
        Assert.False(terminated[0]);
        // The reset frame: the paddle back at x 4 and the ball on row 3.
        Assert.Equal(4, PaddleX(obs.AsSpan(0, n)));
        var finished = new List<EpisodeStats>();
        Assert.True(vec.DrainEpisodes(finished) >= 1);
        Assert.Equal(steps, finished.First(e => e.EnvIndex == 0).Length);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void SteppingThroughAVectorEnvAllocatesNothing(string id)
    {
        var vec = new VectorEnv(id, 4);
        var obs = new float[4 * vec.ObservationSize];
        var rewards = new float[4];
        var terminated = new bool[4];
        var truncated = new bool[4];
        var autoreset = new bool[4];
        var actions = new float[4];
        var sink = new List<EpisodeStats>(4096);
        var rng = new Rng(1);
        var space = (Discrete)vec.SingleActionSpace;
        vec.Reset(1, obs);
        void Run()
        {
            for (int t = 0; t < 3000; t++)
            {
                for (int i = 0; i < actions.Length; i++) actions[i] = space.SampleIndex(ref rng);
                vec.Step(actions, obs, rewards, terminated, truncated, autoreset);
                vec.DrainEpisodes(sink);
                sink.Clear();
            }
        }
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static List<string> Run(string id, ulong seed, int steps)
    {
        var env = EnvRegistry.Make(id);
        var obs = new float[env.ObservationSize];
        env.Reset(seed, obs);
        var frames = new List<string> { ObservationBits.PackToHex(obs) };
        var rng = new Rng(seed);
        var space = (Discrete)env.ActionSpace;
        for (int t = 0; t < steps; t++)
        {
            var outcome = env.Step([space.SampleIndex(ref rng)], obs);
            Assert.True(env.ObservationSpace.Contains(obs), $"{id}: an observation is outside {env.ObservationSpace}");
            frames.Add(ObservationBits.PackToHex(obs) + $" {outcome.Reward} {outcome.Terminated}");
            if (outcome.Terminated)
            {
                env.Reset(null, obs);
                frames.Add("reset " + ObservationBits.PackToHex(obs));
            }
        }
        return frames;
    }

    private static int PaddleX(ReadOnlySpan<float> obs)
    {
        // Breakout's paddle plane (channel 0) on row 9.
        for (int x = 0; x < 10; x++)
        {
            if (obs[(9 * 10 + x) * 4] == 1f) return x;
        }
        return -1;
    }
}
