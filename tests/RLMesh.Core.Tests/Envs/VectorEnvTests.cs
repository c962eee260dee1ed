using FsCheck;
using FsCheck.Fluent;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

public class VectorEnvTests
{
    private sealed class Buffers
    {
        public Buffers(VectorEnv vec)
        {
            Obs = new float[vec.NumEnvs * vec.ObservationSize];
            Rewards = new float[vec.NumEnvs];
            Terminated = new bool[vec.NumEnvs];
            Truncated = new bool[vec.NumEnvs];
            Autoreset = new bool[vec.NumEnvs];
        }

        public float[] Obs { get; }
        public float[] Rewards { get; }
        public bool[] Terminated { get; }
        public bool[] Truncated { get; }
        public bool[] Autoreset { get; }

        public void Step(VectorEnv vec, float[] actions) => vec.Step(actions, Obs, Rewards, Terminated, Truncated, Autoreset);
    }

    [Fact]
    public void TheStepAfterAnEpisodeEndsReturnsTheResetObservationWithZeroRewardAndIgnoresTheAction()
    {
        var vec = new VectorEnv("CartPole-v1", 2);
        var buf = new Buffers(vec);
        vec.Reset(7, buf.Obs);
        // Always pushing right topples the pole within a few dozen steps.
        int steps = 0;
        while (!(buf.Terminated[0] || buf.Truncated[0]))
        {
            buf.Step(vec, [1f, 0f]);
            Assert.False(buf.Autoreset[0]);
            Assert.True(++steps < 100);
        }
        Assert.True(buf.Terminated[0]);

        // The reset observation is what a fresh env produces when its stream continues after seed 7's episode.
        var reference = EnvRegistry.Make("CartPole-v1");
        reference.Reset(7);
        var expectedObs = reference.Reset().Observation;

        // An invalid action would throw if it were used; the autoreset step must ignore it.
        buf.Step(vec, [99f, 0f]);
        Assert.True(buf.Autoreset[0]);
        Assert.Equal(0f, buf.Rewards[0]);
        Assert.False(buf.Terminated[0]);
        Assert.False(buf.Truncated[0]);
        Assert.Equal(expectedObs, buf.Obs.AsSpan(0, 4).ToArray());

        // And the step after that is an ordinary step again.
        buf.Step(vec, [1f, 0f]);
        Assert.False(buf.Autoreset[0]);
        Assert.Equal(1f, buf.Rewards[0]);
    }

    [Fact]
    public void SubEnvIIsSeededWithSeedPlusI()
    {
        var vec = new VectorEnv("Acrobot-v1", 3);
        var obs = new float[3 * 6];
        vec.Reset(100, obs);
        for (int i = 0; i < 3; i++)
        {
            var single = EnvRegistry.Make("Acrobot-v1").Reset(100 + (ulong)i).Observation;
            Assert.Equal(single, obs.AsSpan(i * 6, 6).ToArray());
        }
    }

    [Fact]
    public void EpisodeStatisticsMatchASingleEnvRunWithTheSameSeedAndActions()
    {
        const int numEnvs = 4, steps = 600;
        const ulong seed = 42;
        var rng = new Rng(9);
        var actions = new float[steps * numEnvs];
        for (int k = 0; k < actions.Length; k++) actions[k] = rng.NextInt(2);

        var vec = new VectorEnv("CartPole-v1", numEnvs);
        var buf = new Buffers(vec);
        vec.Reset(seed, buf.Obs);
        var drained = new List<EpisodeStats>();
        for (int t = 0; t < steps; t++)
        {
            buf.Step(vec, actions.AsSpan(t * numEnvs, numEnvs).ToArray());
            if (t % 50 == 0) vec.DrainEpisodes(drained);
        }
        vec.DrainEpisodes(drained);
        Assert.Equal(0, vec.PendingEpisodes);

        for (int i = 0; i < numEnvs; i++)
        {
            // Replay column i on a single env: an autoreset step consumes an action slot and resets.
            var env = EnvRegistry.Make("CartPole-v1");
            env.Reset(seed + (ulong)i);
            var expected = new List<EpisodeStats>();
            var obs = new float[4];
            double ret = 0;
            int len = 0;
            bool ended = false;
            for (int t = 0; t < steps; t++)
            {
                if (ended)
                {
                    env.Reset(null, obs);
                    ended = false;
                    continue;
                }
                var o = env.Step([actions[t * numEnvs + i]], obs);
                ret += o.Reward;
                len++;
                if (o.Terminated || o.Truncated)
                {
                    expected.Add(new EpisodeStats(i, ret, len));
                    ret = 0;
                    len = 0;
                    ended = true;
                }
            }
            Assert.NotEmpty(expected);
            Assert.Equal(expected, drained.Where(e => e.EnvIndex == i));
        }
    }

    [Fact]
    public void TheSameSeedAndActionsGiveIdenticalResults()
    {
        static List<float> Run(ulong seed)
        {
            var vec = new VectorEnv("MountainCarContinuous-v0", 3);
            var buf = new Buffers(vec);
            vec.Reset(seed, buf.Obs);
            var trace = new List<float>(buf.Obs);
            var rng = new Rng(1);
            var actions = new float[3];
            for (int t = 0; t < 300; t++)
            {
                for (int i = 0; i < 3; i++) actions[i] = (float)rng.Uniform(-1.5, 1.5);
                buf.Step(vec, actions);
                trace.AddRange(buf.Obs);
                trace.AddRange(buf.Rewards);
            }
            return trace;
        }

        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }

    [Fact]
    public void TheVectorEnvExposesTheSingleEnvSpacesAndSizes()
    {
        var vec = new VectorEnv("Pendulum-v1", 5);
        Assert.Equal(5, vec.NumEnvs);
        Assert.Equal(EnvRegistry.Spec("Pendulum-v1").ObservationSpace, vec.SingleObservationSpace);
        Assert.Equal(EnvRegistry.Spec("Pendulum-v1").ActionSpace, vec.SingleActionSpace);
        Assert.Equal(3, vec.ObservationSize);
        Assert.Equal(1, vec.ActionSize);

        var discrete = new VectorEnv(() => new Acrobot(), 2);
        Assert.Equal(new Discrete(3), discrete.SingleActionSpace);
        Assert.Equal(1, discrete.ActionSize);
        Assert.Equal(6, discrete.ObservationSize);
    }

    [Fact]
    public void TheFriendlyStepReportsFinishedEpisodesInItsInfo()
    {
        var vec = new VectorEnv("CartPole-v1", 2);
        var (obs, _) = vec.Reset(3);
        Assert.Equal(8, obs.Length);
        EpisodeStats[]? finished = null;
        bool[]? mask = null;
        for (int t = 0; t < 200 && finished is null; t++)
        {
            var (_, rewards, terminated, truncated, info) = vec.Step([1f, 1f]);
            Assert.Equal(2, rewards.Length);
            Assert.True(info.ContainsKey("autoreset"));
            if (info.TryGetValue("episode", out var e))
            {
                finished = (EpisodeStats[])e;
                mask = (bool[])info["_episode"];
                foreach (var ep in finished) Assert.True(terminated[ep.EnvIndex] || truncated[ep.EnvIndex]);
            }
        }
        Assert.NotNull(finished);
        Assert.All(finished, ep => Assert.True(mask![ep.EnvIndex]));
        Assert.All(finished, ep => Assert.Equal(ep.Length, ep.Return)); // CartPole pays 1 per step
        // The friendly API hands them out once: they are not also waiting in the drain queue.
        Assert.Equal(0, vec.DrainEpisodes(new List<EpisodeStats>()));
    }

    [Fact]
    public void SteppingAllocatesNothingInSteadyState()
    {
        var vec = new VectorEnv("CartPole-v1", 8);
        var buf = new Buffers(vec);
        var actions = new float[8];
        var sink = new List<EpisodeStats>(1024);
        vec.Reset(1, buf.Obs);
        for (int t = 0; t < 2000; t++) { buf.Step(vec, actions); vec.DrainEpisodes(sink); sink.Clear(); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 2000; t++) { buf.Step(vec, actions); vec.DrainEpisodes(sink); sink.Clear(); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void TheThroughputHelperRunsAndReportsAPositiveRate()
    {
        // Smoke test only: timings are machine-dependent and never asserted.
        double rate = EnvThroughput.MeasureStepsPerSecond("Pendulum-v1", 4, 10_000, 1);
        Assert.True(rate > 0 && double.IsFinite(rate));
    }

    [Fact]
    public void BadBufferSizesAndSteppingBeforeResetAreRejected()
    {
        var vec = new VectorEnv("CartPole-v1", 2);
        var buf = new Buffers(vec);
        Assert.Throws<InvalidOperationException>(() => buf.Step(vec, [0f, 0f]));
        vec.Reset(0, buf.Obs);
        Assert.Throws<ArgumentException>(() => buf.Step(vec, [0f]));
        Assert.Throws<ArgumentException>(() => vec.Reset(0, new float[3]));
        Assert.Throws<UnknownEnvironmentException>(() => new VectorEnv("NoSuchEnv-v0", 2));
    }

    [Fact]
    public void CartPoleObservationsStayFiniteUnderAnyActionSequence()
    {
        var gen = Gen.Choose(0, 1).ArrayOf(1500).Zip(Gen.Choose(0, 1_000_000));
        Prop.ForAll(Arb.From(gen), input =>
        {
            var (actions, seed) = input;
            var vec = new VectorEnv("CartPole-v1", 3);
            var buf = new Buffers(vec);
            vec.Reset((ulong)seed, buf.Obs);
            var a = new float[3];
            for (int t = 0; t < actions.Length; t++)
            {
                a[0] = actions[t]; a[1] = 1 - actions[t]; a[2] = actions[(t * 7) % actions.Length];
                buf.Step(vec, a);
                foreach (float x in buf.Obs) if (!float.IsFinite(x)) return false;
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }
}
