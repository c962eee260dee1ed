using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Torch.Tests;

/// <summary>The torch `mlp` preset is the native MLP: same layout, same initial weights, same outputs and gradients.</summary>
public class MlpEquivalenceTests
{
    public static TheoryData<string> Specs => new() { "tanh-categorical", "relu-gaussian", "scaled-input", "no-hidden" };

    private static NetworkSpec Spec(string name) => name switch
    {
        "tanh-categorical" => new NetworkSpec(4, [64, 64], Activation.Tanh, new CategoricalHead(3)),
        "relu-gaussian" => new NetworkSpec(3, [32, 16], Activation.ReLU, new GaussianHead(2, InitialLogStd: -0.5f)),
        "scaled-input" => new NetworkSpec(2, [8], Activation.Tanh, new CategoricalHead(3))
        {
            InputShift = [-0.3f, 0f], InputScale = [1.1f, 14f],
        },
        "no-hidden" => new NetworkSpec(5, [], Activation.Tanh, new CategoricalHead(4)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void SameSeedGivesTheNativeLayoutAndWeights(string name)
    {
        var spec = Spec(name);
        var native = ActorCriticNet.Create(spec, seed: 7);
        using var torch = TorchActorCriticNetwork.Create(spec, seed: 7);

        Assert.Equal(native.Parameters.Slices.Select(s => (s.Name, string.Join("x", s.Shape))),
            torch.Parameters.Slices.Select(s => (s.Name, string.Join("x", s.Shape))));
        Assert.Equal(native.Parameters.Values, torch.Parameters.Values);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void OutputsAndGradientsMatchTheNativeEngine(string name)
    {
        var spec = Spec(name);
        var native = ActorCriticNet.Create(spec, seed: 3);
        using var torch = TorchActorCriticNetwork.Create(spec, seed: 11);
        // Weights handed over through the flat buffer, as a snapshot would.
        torch.Parameters.CopyFrom(native.Parameters.Values);

        const int rows = 37;
        int p = spec.PolicyOutputSize;
        float[] observations = TestData.Uniform(rows * spec.ObservationSize, 1, -2f, 2f);
        float[] dPolicy = TestData.Uniform(rows * p, 2);
        float[] dValue = TestData.Uniform(rows, 3);

        var (nativePolicy, nativeValue) = ForwardBackward(native, observations, rows, dPolicy, dValue);
        var (torchPolicy, torchValue) = ForwardBackward(torch, observations, rows, dPolicy, dValue);

        AssertClose(nativePolicy, torchPolicy);
        AssertClose(nativeValue, torchValue);
        AssertClose(native.Parameters.Gradients, torch.Parameters.Gradients);
        Assert.Contains(torch.Parameters.Gradients, g => g != 0f);
    }

    [Fact]
    public void InferenceSessionMatchesTheTrainingPass()
    {
        var spec = Spec("relu-gaussian");
        using var torch = TorchActorCriticNetwork.Create(spec, seed: 5);
        const int rows = 16;
        float[] observations = TestData.Uniform(rows * spec.ObservationSize, 9);
        var trainPolicy = new float[rows * spec.PolicyOutputSize];
        var trainValue = new float[rows];
        torch.Forward(observations, 1, rows, [], [], trainPolicy, trainValue);

        var session = torch.CreateInferenceSession();
        var actPolicy = new float[rows * spec.PolicyOutputSize];
        var actValue = new float[rows];
        session.Evaluate(observations, rows, actPolicy, actValue);

        Assert.Equal(trainPolicy, actPolicy);
        Assert.Equal(trainValue, actValue);
    }

    private static (float[] Policy, float[] Value) ForwardBackward(IActorCriticNetwork net, float[] observations, int rows,
        float[] dPolicy, float[] dValue)
    {
        var policy = new float[rows * net.PolicyOutputSize];
        var value = new float[rows];
        net.Parameters.ZeroGradients();
        net.Forward(observations, rows, policy, value);
        net.Backward(dPolicy, dValue);
        return (policy, value);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float tolerance = 1e-5f * Math.Max(1f, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"element {i}: native {expected[i]}, torch {actual[i]}");
        }
    }
}
