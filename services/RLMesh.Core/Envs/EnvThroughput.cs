using System.Diagnostics;

namespace RLMesh.Core.Envs;

/// <summary>Single-threaded env stepping speed, for <c>rlmesh bench env</c> and hand checks.</summary>
public static class EnvThroughput
{
    /// <summary>
    /// Steps a <see cref="VectorEnv"/> of <paramref name="numEnvs"/> copies with pre-drawn random actions
    /// for at least <paramref name="steps"/> env steps in total (whole vector steps), after a short warm-up,
    /// and returns env steps per second.
    /// </summary>
    public static double MeasureStepsPerSecond(string envId, int numEnvs, int steps, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var vec = new VectorEnv(envId, numEnvs);
        int n = vec.ObservationSize, m = vec.ActionSize;

        // Pre-drawn so the timing is the env's, not the sampler's.
        const int ActionRows = 256;
        var actions = new float[ActionRows * numEnvs * m];
        var rng = new Rng(seed);
        var space = vec.SingleActionSpace;
        for (int r = 0; r < ActionRows * numEnvs; r++) space.Sample(ref rng, actions.AsSpan(r * m, m));

        var obs = new float[numEnvs * n];
        var rewards = new float[numEnvs];
        var terminated = new bool[numEnvs];
        var truncated = new bool[numEnvs];
        var autoreset = new bool[numEnvs];
        var sink = new List<Data.EpisodeStats>();
        vec.Reset(seed, obs);

        long vectorSteps = Math.Max(1, (steps + (long)numEnvs - 1) / numEnvs);
        void Run(long count)
        {
            for (long t = 0; t < count; t++)
            {
                int row = (int)(t % ActionRows);
                vec.Step(actions.AsSpan(row * numEnvs * m, numEnvs * m), obs, rewards, terminated, truncated, autoreset);
                if ((t & 1023) == 1023) { vec.DrainEpisodes(sink); sink.Clear(); }
            }
        }

        // Warm-up by time: tiered JIT only promotes hot methods after a quiet period of ~100 ms.
        var sw = Stopwatch.StartNew();
        do Run(Math.Min(vectorSteps, 1_000)); while (sw.ElapsedMilliseconds < 500);
        sw.Restart();
        Run(vectorSteps);
        sw.Stop();
        return vectorSteps * numEnvs / sw.Elapsed.TotalSeconds;
    }
}
