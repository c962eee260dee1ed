using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

public class InputScalingTests
{
    private static readonly float[] Shift = [0.5f, -1f, 0f];
    private static readonly float[] Scale = [2f, 0.25f, 1f];

    private static NetworkSpec Spec(bool scaled)
    {
        var spec = new NetworkSpec(3, [5, 4], Activation.Tanh, new CategoricalHead(2));
        return scaled ? spec with { InputShift = Shift, InputScale = Scale } : spec;
    }

    [Fact]
    public void ScaledNetworkEqualsUnscaledNetworkFedPreScaledObservations()
    {
        var scaled = ActorCriticNet.Create(Spec(true), 7);
        var plain = ActorCriticNet.Create(Spec(false), 7);
        Assert.Equal(scaled.Parameters.Values, plain.Parameters.Values);

        float[] obs = GradCheck.Random(11, 4 * 3, -5, 5);
        float[] original = (float[])obs.Clone();
        float[] pre = new float[obs.Length];
        for (int i = 0; i < obs.Length; i++) pre[i] = (obs[i] - Shift[i % 3]) * Scale[i % 3];

        var (p1, v1) = (new float[8], new float[4]);
        var (p2, v2) = (new float[8], new float[4]);
        var (p3, v3) = (new float[8], new float[4]);
        scaled.Forward(obs, 4, p1, v1);
        plain.Forward(pre, 4, p2, v2);
        scaled.CreateInferenceSession().Evaluate(obs, 4, p3, v3);
        Assert.Equal(p2, p1);
        Assert.Equal(v2, v1);
        Assert.Equal(p1, p3);
        Assert.Equal(v1, v3);
        Assert.Equal(original, obs); // the caller's observations are never modified
    }

    [Fact]
    public void GradientsOfAScaledNetworkMatchFiniteDifferences()
    {
        var net = ActorCriticNet.Create(Spec(true), 3);
        float[] obs = GradCheck.Random(5, 6 * 3, -3, 3);
        float[] w1 = GradCheck.Random(6, 6 * 2);
        float[] w2 = GradCheck.Random(8, 6);
        var (policy, values) = (new float[12], new float[6]);
        double Loss()
        {
            net.Forward(obs, 6, policy, values);
            return GradCheck.Dot(w1, policy) + GradCheck.Dot(w2, values);
        }
        Loss();
        net.Parameters.ZeroGradients();
        net.Backward(w1, w2);
        GradCheck.AssertClose(net.Parameters.Values, net.Parameters.Gradients.ToArray(), Loss, 1e-3, 5e-4, 2e-3, "params");
    }

    [Fact]
    public void BoundedObservationElementsMapOntoMinusOneToOne()
    {
        var spec = EnvRegistry.Spec("Acrobot-v1");
        var (shift, scale) = PolicyFactory.BoundsScaling((Box)spec.ObservationSpace)!.Value;
        var box = (Box)spec.ObservationSpace;
        for (int i = 0; i < shift.Length; i++)
        {
            Assert.Equal(-1f, (box.Low[i] - shift[i]) * scale[i], 5);
            Assert.Equal(1f, (box.High[i] - shift[i]) * scale[i], 5);
        }
        // CartPole's velocities are unbounded: they pass unchanged.
        var cart = PolicyFactory.BoundsScaling((Box)EnvRegistry.Spec("CartPole-v1").ObservationSpace)!.Value;
        Assert.Equal(1f, cart.Scale[1]);
        Assert.Equal(0f, cart.Shift[1]);
    }

    [Fact]
    public void MismatchedScalingIsRefused()
    {
        var bad = Spec(false) with { InputShift = [0f, 0f, 0f], InputScale = [1f, 1f] };
        Assert.Throws<ArgumentException>(() => ActorCriticNet.Create(bad, 1));
        var zero = Spec(false) with { InputShift = [0f, 0f, 0f], InputScale = [1f, 0f, 1f] };
        Assert.Throws<ArgumentException>(() => ActorCriticNet.Create(zero, 1));
    }
}
