using RLMesh.Core;
using RLMesh.Core.Nn;

namespace RLMesh.Torch.Tests;

internal static class TestData
{
    public static float[] Uniform(int count, ulong seed, float low = -1f, float high = 1f)
    {
        var rng = new Rng(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)rng.Uniform(low, high);
        return values;
    }

    public static NetworkSpec MinAtar(int channels = 4, int actions = 6, int lstm = 0) =>
        new(10 * 10 * channels, [], Activation.ReLU, new CategoricalHead(actions))
        {
            ObservationShape = [10, 10, channels],
            Torso = NetworkTorso.MinAtar,
            LstmSize = lstm,
            Backend = NetworkBackend.Torch,
        };

    /// <summary>The scalar loss sum(dP * policy) + sum(dV * value) whose gradient Backward(dP, dV) computes, in double.</summary>
    public static double Loss(IActorCriticNetwork net, float[] observations, int steps, int columns, float[] state, bool[] starts,
        float[] dPolicy, float[] dValue)
    {
        int rows = steps * columns;
        var policy = new float[rows * net.PolicyOutputSize];
        var value = new float[rows];
        net.Forward(observations, steps, columns, state, starts, policy, value);
        double loss = 0;
        for (int i = 0; i < policy.Length; i++) loss += (double)dPolicy[i] * policy[i];
        for (int i = 0; i < value.Length; i++) loss += (double)dValue[i] * value[i];
        return loss;
    }
}
