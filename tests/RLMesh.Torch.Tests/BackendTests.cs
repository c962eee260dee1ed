using RLMesh.Core.Nn;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace RLMesh.Torch.Tests;

public class BackendTests
{
    private static readonly NetworkFactory Factory = new([new NativeNetworkBackend(), new TorchNetworkBackend()]);

    [Theory]
    [InlineData(NetworkTorso.MinAtar, 10, 0)]
    [InlineData(NetworkTorso.Nature, 84, 0)]
    [InlineData(NetworkTorso.MinAtar, 10, 32)]
    public void TheFactoryBuildsConvAndRecurrentNetworksWithTorch(NetworkTorso torso, int side, int lstm)
    {
        var spec = new NetworkSpec(side * side * 4, [], Activation.ReLU, new CategoricalHead(6))
        {
            ObservationShape = [side, side, 4], Torso = torso, LstmSize = lstm,
        };
        var net = Factory.Create(spec, seed: 1);
        Assert.IsType<TorchActorCriticNetwork>(net);
        Assert.Equal(NetworkBackend.Torch, net.Spec.Backend);
        Assert.Equal(2 * lstm, net.CoreStateSize);

        var policy = new float[2 * 6];
        var values = new float[2];
        var state = new float[2 * net.CoreStateSize];
        net.CreateInferenceSession().Evaluate(TestData.Uniform(2 * spec.ObservationSize, 2, 0f, 1f), 2, state, policy, values);
        Assert.All(policy, p => Assert.True(float.IsFinite(p)));
        Assert.NotEqual(policy[..6], policy[6..]);
    }

    [Fact]
    public void ConvPresetsOnVectorObservationsAreRefusedWithAReason()
    {
        var spec = new NetworkSpec(4, [], Activation.ReLU, new CategoricalHead(2)) { Torso = NetworkTorso.MinAtar };
        Assert.Equal("the minatar torso needs image observations [height, width, channels], got [4]", Factory.Problem(spec));
        Assert.Throws<NetworkConfigurationException>(() => Factory.Create(spec, 1));
    }

    [Fact]
    public void NatureOnFramesTooSmallIsRefused()
    {
        var spec = new NetworkSpec(10 * 10, [], Activation.ReLU, new CategoricalHead(2))
        {
            ObservationShape = [10, 10, 1], Torso = NetworkTorso.Nature,
        };
        Assert.Equal("the nature torso needs frames of at least 36x36 (84x84 intended), got 10x10", Factory.Problem(spec));
    }

    [Fact]
    public void NonPositiveThreadCountIsRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new TorchNetworkBackend(new TorchOptions { IntraOpThreads = 0 }));
        Assert.Contains("IntraOpThreads", error.Message);
    }

    [Fact]
    public void ACustomTorsoModuleTrainsThroughTheFlatBuffer()
    {
        var spec = new NetworkSpec(6, [], Activation.Tanh, new CategoricalHead(2));
        var custom = new CustomTorchTorso(_ => nn.Sequential(("fc", nn.Linear(6, 5)), ("act", nn.Tanh())), OutputWidth: 5);
        using var net = TorchActorCriticNetwork.Create(spec, seed: 1, custom);
        Assert.Equal(["torso.custom.fc.weight", "torso.custom.fc.bias", "policy.weight", "policy.bias", "value.weight", "value.bias"],
            net.Parameters.Slices.Select(s => s.Name));

        float[] observations = TestData.Uniform(3 * 6, 2);
        var policy = new float[6];
        var value = new float[3];
        net.Parameters.ZeroGradients();
        net.Forward(observations, 3, policy, value);
        net.Backward(TestData.Uniform(6, 3), TestData.Uniform(3, 4));
        var torsoWeight = net.Parameters["torso.custom.fc.weight"];
        Assert.Contains(net.Parameters.GradientsOf(torsoWeight).ToArray(), g => g != 0f);

        // A clone builds its own module and takes the values from the buffer.
        var clone = net.Clone();
        var clonePolicy = new float[6];
        clone.CreateInferenceSession().Evaluate(observations, 3, clonePolicy, new float[3]);
        Assert.Equal(policy, clonePolicy);

        // Writing the torso's slice changes what the module computes.
        net.Parameters.ValuesOf(torsoWeight).Clear();
        var zeroed = new float[6];
        net.CreateInferenceSession().Evaluate(observations, 3, zeroed, new float[3]);
        Assert.NotEqual(policy, zeroed);
    }
}
