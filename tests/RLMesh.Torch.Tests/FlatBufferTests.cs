using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Torch.Tests;

/// <summary>The flat ParameterBuffer is the source of truth: what is written there is what torch computes with.</summary>
public class FlatBufferTests
{
    [Fact]
    public void ValuesCopiedIntoTheBufferReproduceTheSourceNetworksOutputs()
    {
        var spec = TestData.MinAtar();
        using var source = TorchActorCriticNetwork.Create(spec, seed: 1);
        using var target = TorchActorCriticNetwork.Create(spec, seed: 2);
        float[] observations = TestData.Uniform(5 * spec.ObservationSize, 3, 0f, 1f);

        var (sourcePolicy, sourceValue) = Act(source, observations, 5);
        var (before, _) = Act(target, observations, 5);
        Assert.NotEqual(sourcePolicy, before);

        target.Parameters.CopyFrom(source.Parameters.Values);
        var (afterPolicy, afterValue) = Act(target, observations, 5);
        Assert.Equal(sourcePolicy, afterPolicy);
        Assert.Equal(sourceValue, afterValue);
    }

    [Fact]
    public void AnOptimizerStepOnTheBufferChangesTheNextForward()
    {
        var spec = TestData.MinAtar();
        using var net = TorchActorCriticNetwork.Create(spec, seed: 1);
        var session = net.CreateInferenceSession();
        float[] observations = TestData.Uniform(spec.ObservationSize, 3, 0f, 1f);
        var (policy, value) = Act(net, observations, 1);

        var bias = net.Parameters["value.bias"];
        net.Parameters.ValuesOf(bias)[0] += 0.5f;
        var (policyAfter, valueAfter) = Act(net, observations, 1);

        Assert.Equal(policy, policyAfter);
        Assert.Equal(value[0] + 0.5f, valueAfter[0], 5);
    }

    [Fact]
    public void BackwardAddsToTheGradientsAlreadyInTheBuffer()
    {
        var spec = TestData.MinAtar();
        using var net = TorchActorCriticNetwork.Create(spec, seed: 1);
        float[] observations = TestData.Uniform(4 * spec.ObservationSize, 3, 0f, 1f);
        float[] dPolicy = TestData.Uniform(4 * net.PolicyOutputSize, 4);
        float[] dValue = TestData.Uniform(4, 5);
        var policy = new float[dPolicy.Length];
        var value = new float[4];

        net.Parameters.ZeroGradients();
        net.Forward(observations, 4, policy, value);
        net.Backward(dPolicy, dValue);
        float[] once = (float[])net.Parameters.Gradients.Clone();
        net.Forward(observations, 4, policy, value);
        net.Backward(dPolicy, dValue);

        for (int i = 0; i < once.Length; i++)
            Assert.Equal(2 * once[i], net.Parameters.Gradients[i], 1e-5f * Math.Max(1f, Math.Abs(2 * once[i])));
        Assert.Contains(once, g => g != 0f);
    }

    [Fact]
    public void CloneHasItsOwnCopyOfValuesAndGradients()
    {
        var spec = TestData.MinAtar(lstm: 4);
        using var net = TorchActorCriticNetwork.Create(spec, seed: 1);
        net.Parameters.Gradients[3] = 1.5f;
        var clone = net.Clone();

        Assert.Equal(net.Parameters.Values, clone.Parameters.Values);
        Assert.Equal(net.Parameters.Gradients, clone.Parameters.Gradients);
        Assert.Equal(NetworkBackend.Torch, clone.Backend);
        clone.Parameters.Values[0] += 1f;
        Assert.NotEqual(net.Parameters.Values[0], clone.Parameters.Values[0]);
    }

    [Fact]
    public void SameSpecAndSeedGiveTheSameParameters()
    {
        var spec = TestData.MinAtar(lstm: 16);
        using var a = TorchActorCriticNetwork.Create(spec, seed: 42);
        using var b = TorchActorCriticNetwork.Create(spec, seed: 42);
        using var c = TorchActorCriticNetwork.Create(spec, seed: 43);
        Assert.Equal(a.Parameters.Values, b.Parameters.Values);
        Assert.NotEqual(a.Parameters.Values, c.Parameters.Values);
        Assert.Equal(["torso.conv0.weight", "torso.conv0.bias", "torso.fc.weight", "torso.fc.bias",
            "lstm.weight_ih", "lstm.weight_hh", "lstm.bias_ih", "lstm.bias_hh",
            "policy.weight", "policy.bias", "value.weight", "value.bias"], a.Parameters.Slices.Select(s => s.Name));
        Assert.Equal([16, 4, 3, 3], a.Parameters["torso.conv0.weight"].Shape);
        Assert.Equal([16 * 8 * 8, 128], a.Parameters["torso.fc.weight"].Shape);
    }

    private static (float[] Policy, float[] Value) Act(IActorCriticNetwork net, float[] observations, int batch)
    {
        var policy = new float[batch * net.PolicyOutputSize];
        var value = new float[batch];
        net.CreateInferenceSession().Evaluate(observations, batch, policy, value);
        return (policy, value);
    }
}
