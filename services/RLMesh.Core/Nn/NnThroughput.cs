using System.Diagnostics;

namespace RLMesh.Core.Nn;

/// <summary>
/// Measurement loops for the network part of <c>rlmesh bench infer|learner</c>. Timings are wall-clock on the
/// calling thread (single-threaded engine); run in Release. Nothing here asserts or prints.
/// </summary>
public static class NnThroughput
{
    /// <summary>The reference net: MLP 4-64-64, tanh, categorical head with 2 actions (CartPole-sized).</summary>
    public static NetworkSpec DefaultSpec() => new(4, [64, 64], Activation.Tanh, new CategoricalHead(2));

    /// <summary>Microseconds per <see cref="InferenceSession.Evaluate"/> call at <paramref name="batch"/> rows (best of 5 runs).</summary>
    public static double EvaluateMicroseconds(int batch, int iterations = 20_000, NetworkSpec? spec = null)
    {
        spec ??= DefaultSpec();
        var net = ActorCriticNet.Create(spec, 1);
        var session = net.CreateInferenceSession();
        float[] obs = RandomArray(batch * spec.ObservationSize, 2);
        var policy = new float[batch * net.PolicyOutputSize];
        var values = new float[batch];
        return Best(5, iterations, () => session.Evaluate(obs, batch, policy, values)) * 1e6;
    }

    /// <summary>
    /// Milliseconds per learner update at <paramref name="rows"/> rows (default T=80 × B=32): zero gradients,
    /// Forward, Backward (with synthetic output gradients), global-norm clip and one RmsProp step (best of 5 runs).
    /// </summary>
    public static double LearnerUpdateMilliseconds(int rows = 2560, int iterations = 50, NetworkSpec? spec = null)
    {
        spec ??= DefaultSpec();
        var net = ActorCriticNet.Create(spec, 1);
        var optimizer = new RmsProp(net.Parameters, 6e-4f);
        float[] obs = RandomArray(rows * spec.ObservationSize, 2);
        var policy = new float[rows * net.PolicyOutputSize];
        var values = new float[rows];
        float[] dPolicy = RandomArray(rows * net.PolicyOutputSize, 3, 1e-3);
        float[] dValues = RandomArray(rows, 4, 1e-3);
        return Best(5, iterations, () =>
        {
            net.Parameters.ZeroGradients();
            net.Forward(obs, rows, policy, values);
            net.Backward(dPolicy, dValues);
            GradientClipping.ClipGlobalNorm(net.Parameters.Gradients, 40f);
            optimizer.Step();
        }) * 1e3;
    }

    /// <summary>Milliseconds per Forward + Backward alone (no optimizer) at <paramref name="rows"/> rows.</summary>
    public static double ForwardBackwardMilliseconds(int rows = 2560, int iterations = 50, NetworkSpec? spec = null)
    {
        spec ??= DefaultSpec();
        var net = ActorCriticNet.Create(spec, 1);
        float[] obs = RandomArray(rows * spec.ObservationSize, 2);
        var policy = new float[rows * net.PolicyOutputSize];
        var values = new float[rows];
        float[] dPolicy = RandomArray(rows * net.PolicyOutputSize, 3, 1e-3);
        float[] dValues = RandomArray(rows, 4, 1e-3);
        return Best(5, iterations, () =>
        {
            net.Forward(obs, rows, policy, values);
            net.Backward(dPolicy, dValues);
        }) * 1e3;
    }

    // Seconds per call: an untimed warm-up (tiered JIT), then the fastest of `runs` timed runs. The minimum,
    // not the median, because the cores are shared and other processes only ever add time.
    private static double Best(int runs, int iterations, Action body)
    {
        for (int i = 0; i < Math.Max(iterations, 100); i++) body();
        var samples = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < iterations; i++) body();
            samples[r] = Stopwatch.GetElapsedTime(start).TotalSeconds / iterations;
        }
        return samples.Min();
    }

    private static float[] RandomArray(int length, ulong seed, double scale = 1)
    {
        var rng = new Rng(seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.Uniform(-scale, scale);
        return x;
    }
}
