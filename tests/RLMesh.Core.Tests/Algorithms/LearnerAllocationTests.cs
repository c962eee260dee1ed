using RLMesh.Core.Algorithms;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

public class LearnerAllocationTests
{
    private static long AllocatedByUpdates(ILearner learner, RLMesh.Core.Data.Trajectory batch)
    {
        for (int i = 0; i < 20; i++) learner.Update(batch); // warm-up: scratch buffers reach their size, JIT tiers settle
        long before = GC.GetAllocatedBytesForCurrentThread();
        double sink = 0;
        for (int i = 0; i < 20; i++)
        {
            learner.Update(batch);
            foreach (var kl in learner.ColumnKlSums) sink += kl;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(double.IsFinite(sink));
        return allocated;
    }

    private static ActorCriticNet Net() => ActorCriticNet.Create(new NetworkSpec(1, [8], Activation.Tanh, new CategoricalHead(3)), 3);

    [Fact]
    public void ImpactUpdatesWithPerColumnKlAllocateNothingAfterWarmUp()
    {
        var net = Net();
        var batch = RandomBatch.Create(PolicySpec.Categorical(3), T: 5, B: 4, seed: 2).WithEpisodeEnds().Batch;
        Assert.Equal(0, AllocatedByUpdates(new ImpactLearner(net, new Adam(net.Parameters, 1e-3f), new ImpactOptions(), 40f), batch));
    }

    [Fact]
    public void VmpoUpdatesWithPerColumnKlAllocateNothingAfterWarmUp()
    {
        var net = Net();
        var batch = RandomBatch.Create(PolicySpec.Categorical(3), T: 5, B: 4, seed: 2).WithEpisodeEnds().Batch;
        Assert.Equal(0, AllocatedByUpdates(new VmpoLearner(net, new Adam(net.Parameters, 1e-3f), new VmpoOptions(), 40f), batch));
    }

    [Fact]
    public void PpoUpdatesWithPerColumnKlAllocateNothingAfterWarmUp()
    {
        var net = Net();
        var batch = RandomBatch.Create(PolicySpec.Categorical(3), T: 5, B: 4, seed: 2).WithEpisodeEnds().Batch;
        Assert.Equal(0, AllocatedByUpdates(new PpoLearner(net, new Adam(net.Parameters, 1e-3f), new PpoOptions { Epochs = 2, Minibatches = 2 }, 0.5f, seed: 1), batch));
    }
}
