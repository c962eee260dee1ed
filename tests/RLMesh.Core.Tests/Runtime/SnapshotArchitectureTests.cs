using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Runtime;

public class SnapshotArchitectureTests
{
    private static ActorCriticNet CartPoleNet() =>
        ActorCriticNet.Create(new NetworkSpec(4, [8], Activation.Tanh, new CategoricalHead(2)) { Backend = NetworkBackend.Native }, 1);

    [Fact]
    public async Task AnActorTakesWeightsDescribedForItsOwnNetwork()
    {
        var net = CartPoleNet();
        var actor = new Actor("a", new VectorEnv("CartPole-v1", 2), net.Clone(), 4, 1);
        var store = new InMemoryWeightStore();
        var values = Enumerable.Repeat(0.25f, net.Parameters.Count).ToArray();
        await store.PublishAsync(new WeightSnapshot(1, values) { Network = NetworkDescription.Of(net.Spec) }, CancellationToken.None);
        Assert.True(await actor.RefreshWeightsAsync(store, CancellationToken.None));
        Assert.Equal(1, actor.PolicyVersion);
    }

    [Fact]
    public async Task AnActorRefusesWeightsOfAnotherArchitecture()
    {
        var net = CartPoleNet();
        var actor = new Actor("a", new VectorEnv("CartPole-v1", 2), net.Clone(), 4, 1);
        var store = new InMemoryWeightStore();
        var other = new NetworkDescription(NetworkBackend.Torch, NetworkTorso.Mlp, 32, [4]);
        await store.PublishAsync(new WeightSnapshot(1, new float[net.Parameters.Count]) { Network = other }, CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => actor.RefreshWeightsAsync(store, CancellationToken.None).AsTask());
        Assert.Contains("lstm 32", error.Message);
        Assert.Equal(-1, actor.PolicyVersion);
    }

    [Fact]
    public void ActingParametersCarryTheNetworkDescription()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", "impala");
        var trainer = new EmbeddedTrainer(options);
        var snapshot = WeightSnapshot.ActingParameters(trainer.Learner);
        Assert.Equal(NetworkBackend.Native, snapshot.Network!.Backend);
        Assert.Equal([4], snapshot.Network.ObservationShape);
    }
}
