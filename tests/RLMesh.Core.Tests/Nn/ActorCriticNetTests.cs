using RLMesh.Core.Nn;
using Xunit;
using Xunit.Abstractions;

namespace RLMesh.Core.Tests.Nn;

public class ActorCriticNetTests(ITestOutputHelper output)
{
    private const int Batch = 6;

    // Odd widths so every Gemm tail path is exercised; gain 1 on the policy head so its gradients are not tiny.
    private static NetworkSpec SmallSpec(Activation activation, PolicyHead head) =>
        new(5, [7, 6], activation, head) { PolicyGain = 1f };

    public static TheoryData<Activation, string> Heads => new()
    {
        { Activation.Tanh, "categorical" },
        { Activation.Tanh, "gaussian" },
        { Activation.ReLU, "categorical" },
        { Activation.ReLU, "gaussian" },
    };

    private static PolicyHead Head(string name) => name == "categorical" ? new CategoricalHead(3) : new GaussianHead(2, -0.5f);

    [Theory]
    [MemberData(nameof(Heads))]
    public void BackwardMatchesFiniteDifferencesOfAWeightedSumOfOutputsForEveryParameter(Activation activation, string head)
    {
        var net = ActorCriticNet.Create(SmallSpec(activation, Head(head)), seed: 42);
        int p = net.PolicyOutputSize;
        float[] obs = GradCheck.Random(1, Batch * 5, -2, 2);
        float[] w1 = GradCheck.Random(2, Batch * p);
        float[] w2 = GradCheck.Random(3, Batch);
        var policy = new float[Batch * p];
        var values = new float[Batch];
        double Loss()
        {
            net.Forward(obs, Batch, policy, values);
            return GradCheck.Dot(w1, policy) + GradCheck.Dot(w2, values);
        }

        Loss();
        net.Parameters.ZeroGradients();
        net.Backward(w1, w2);
        float[] analytic = net.Parameters.Gradients.ToArray();
        // h = 1e-3 on float32: tolerance 5e-4 + 2e-3·|g|. Forward rounding noise in L (~1e-7) is ~1e-4 after dividing
        // by 2h; observed worst error is ~15% of the tolerance. The
        // O(h²) truncation error is far below that. ReLU kinks could only bite if a pre-activation sits within
        // 1e-3 of zero; the fixed seeds keep this test deterministic.
        double worst = GradCheck.AssertClose(net.Parameters.Values, analytic, Loss, 1e-3, 5e-4, 2e-3, "params");
        output.WriteLine($"{activation}/{head}: {analytic.Length} parameters, worst error/tolerance {worst:F3}");
        Assert.Contains(analytic, g => g != 0f);
    }

    [Fact]
    public void GaussianHeadBroadcastsTheLogStdParameterToEveryRowAndSumsItsGradientOverTheBatch()
    {
        var net = ActorCriticNet.Create(new NetworkSpec(3, [4], Activation.Tanh, new GaussianHead(2, -0.7f)), 1);
        Assert.Equal(4, net.PolicyOutputSize);
        var policy = new float[Batch * 4];
        net.Forward(GradCheck.Random(1, Batch * 3), Batch, policy, new float[Batch]);
        for (int r = 0; r < Batch; r++)
        {
            Assert.Equal(-0.7f, policy[r * 4 + 2]);
            Assert.Equal(-0.7f, policy[r * 4 + 3]);
        }
        var dPolicy = new float[Batch * 4];
        for (int r = 0; r < Batch; r++) { dPolicy[r * 4 + 2] = 1f; dPolicy[r * 4 + 3] = r; }
        net.Backward(dPolicy, new float[Batch]);
        Span<float> g = net.Parameters.GradientsOf(net.Parameters["policy.log_std"]);
        Assert.Equal(Batch, g[0]);
        Assert.Equal(15f, g[1]);
    }

    [Fact]
    public void BackwardAccumulatesIntoExistingGradients()
    {
        var net = ActorCriticNet.Create(SmallSpec(Activation.Tanh, new CategoricalHead(3)), 5);
        float[] obs = GradCheck.Random(1, Batch * 5);
        float[] dPolicy = GradCheck.Random(2, Batch * 3);
        float[] dValues = GradCheck.Random(3, Batch);
        net.Forward(obs, Batch, new float[Batch * 3], new float[Batch]);
        net.Backward(dPolicy, dValues);
        float[] once = net.Parameters.Gradients.ToArray();
        net.Backward(dPolicy, dValues);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], net.Parameters.Gradients[i], 1e-5 * (1 + Math.Abs(once[i])));
    }

    [Fact]
    public void TwoNetsFromTheSameSeedHaveIdenticalParametersAndOutputs()
    {
        var spec = new NetworkSpec(4, [64, 64], Activation.Tanh, new CategoricalHead(2));
        var a = ActorCriticNet.Create(spec, 99);
        var b = ActorCriticNet.Create(spec, 99);
        var c = ActorCriticNet.Create(spec, 100);
        Assert.Equal(a.Parameters.Values, b.Parameters.Values);
        Assert.NotEqual(a.Parameters.Values, c.Parameters.Values);
        float[] obs = GradCheck.Random(1, 33 * 4);
        var (pa, va) = (new float[33 * 2], new float[33]);
        var (pb, vb) = (new float[33 * 2], new float[33]);
        a.Forward(obs, 33, pa, va);
        b.Forward(obs, 33, pb, vb);
        Assert.Equal(pa, pb);
        Assert.Equal(va, vb);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(67)]
    public void EvaluateGivesExactlyTheOutputsOfForward(int batch)
    {
        var net = ActorCriticNet.Create(new NetworkSpec(4, [64, 64], Activation.ReLU, new GaussianHead(3)), 8);
        var session = net.CreateInferenceSession();
        float[] obs = GradCheck.Random(2, batch * 4);
        var (pf, vf) = (new float[batch * 6], new float[batch]);
        var (pe, ve) = (new float[batch * 6], new float[batch]);
        net.Forward(obs, batch, pf, vf);
        session.Evaluate(obs, batch, pe, ve);
        Assert.Equal(pf, pe);
        Assert.Equal(vf, ve);
    }

    [Fact]
    public void EvaluateAllocatesNothingAfterWarmUp()
    {
        var net = ActorCriticNet.Create(new NetworkSpec(4, [64, 64], Activation.Tanh, new CategoricalHead(2)), 1);
        var session = net.CreateInferenceSession();
        float[] obs = GradCheck.Random(2, 64 * 4);
        var policy = new float[64 * 2];
        var values = new float[64];
        for (int i = 0; i < 200; i++)
        {
            session.Evaluate(obs, 64, policy, values);
            session.Evaluate(obs, 1, policy, values);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) session.Evaluate(obs, 1 + i % 64, policy, values);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void AnActorCopyFollowsTheLearnerAfterCopyFromAndCloneIsDeep()
    {
        var spec = new NetworkSpec(4, [16], Activation.Tanh, new CategoricalHead(2));
        var learner = ActorCriticNet.Create(spec, 1);
        var actor = ActorCriticNet.Create(spec, 2);
        actor.Parameters.CopyFrom(learner.Parameters.Values);
        Assert.Equal(learner.Parameters.Values, actor.Parameters.Values);

        var clone = learner.Clone();
        Assert.Same(learner.Spec, clone.Spec);
        Assert.Equal(learner.Parameters.Values, clone.Parameters.Values);
        clone.Parameters.Values[0] += 1f;
        Assert.NotEqual(learner.Parameters.Values[0], clone.Parameters.Values[0]);
    }

    [Fact]
    public void ParametersAreLaidOutTorsoThenPolicyThenValueThenLogStd()
    {
        var net = ActorCriticNet.Create(new NetworkSpec(4, [8, 6], Activation.Tanh, new GaussianHead(2)), 1);
        string[] names = net.Parameters.Slices.Select(s => s.Name).ToArray();
        Assert.Equal(["torso.0.weight", "torso.0.bias", "torso.1.weight", "torso.1.bias", "policy.weight", "policy.bias",
            "value.weight", "value.bias", "policy.log_std"], names);
        Assert.Equal(4 * 8 + 8 + 8 * 6 + 6 + 6 * 2 + 2 + 6 + 1 + 2, net.Parameters.Count);
        Assert.Equal(net.Parameters.Count, net.Parameters.Slices.Sum(s => s.Length));
    }

    [Fact]
    public void ANetWithoutHiddenLayersIsALinearModelWhoseGradientsCheck()
    {
        var net = ActorCriticNet.Create(new NetworkSpec(3, [], Activation.Tanh, new CategoricalHead(2)) { PolicyGain = 1f }, 4);
        float[] obs = GradCheck.Random(1, Batch * 3);
        float[] w1 = GradCheck.Random(2, Batch * 2);
        float[] w2 = GradCheck.Random(3, Batch);
        var (policy, values) = (new float[Batch * 2], new float[Batch]);
        double Loss()
        {
            net.Forward(obs, Batch, policy, values);
            return GradCheck.Dot(w1, policy) + GradCheck.Dot(w2, values);
        }
        Loss();
        net.Backward(w1, w2);
        GradCheck.AssertClose(net.Parameters.Values, net.Parameters.Gradients.ToArray(), Loss, 1e-2, 1e-4, 1e-3, "params");
    }
}
