using RLMesh.Core.Algorithms;
using RLMesh.Core.Runtime;
using Xunit;

namespace RLMesh.Core.Tests.Runtime;

public class AlgorithmSelectionTests
{
    [Theory]
    [InlineData("impala", typeof(ImpalaLearner))]
    [InlineData("impact", typeof(ImpactLearner))]
    [InlineData("ppo", typeof(PpoLearner))]
    [InlineData("vmpo", typeof(VmpoLearner))]
    public void EveryAlgorithmValidatesFromItsDefaultsAndGetsItsOwnLearner(string algo, Type learner)
    {
        foreach (var env in new[] { "CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0" })
        {
            var options = TrainingOptions.ForEnvironment(env, algo);
            Assert.Equal(algo, options.Algorithm);
            Assert.Empty(options.Validate());
            Assert.IsType(learner, new EmbeddedTrainer(options).Learner);
        }
    }

    [Fact]
    public void AnUnknownAlgorithmIsReportedWithTheAvailableOnes()
    {
        var errors = TrainingOptions.ForEnvironment("CartPole-v1", "dqn").Validate();
        Assert.Contains(errors, e => e.Contains("dqn") && e.Contains("impala, impact, ppo, vmpo"));
    }

    [Fact]
    public void PpoIsSynchronousAndRejectsABatchThatIsNotOneUnrollPerActor()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", "ppo");
        Assert.True(options.Synchronous);
        Assert.Equal(options.Actors, options.BatchUnrolls);
        Assert.Contains((options with { BatchUnrolls = options.Actors + 1 }).Validate(), e => e.Contains("--batch-unrolls must equal --actors"));
        Assert.Contains((options with { Synchronous = false }).Validate(), e => e.Contains("synchronous"));
    }

    [Fact]
    public async Task SynchronousPpoTrainsOnlyOnDataFromTheCurrentParameters()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", "ppo") with { MaxFrames = 20_000, ReportIntervalSeconds = 0.05 };
        var result = await new EmbeddedTrainer(options).RunAsync(null, CancellationToken.None);
        Assert.True(result.Updates >= 19);
        Assert.All(result.Reports, r => Assert.Equal(0.0, r.MeanPolicyLag));
    }

    [Fact]
    public async Task ImpactWithFixedReuseTrainsEachBatchKTimesButCountsItsFramesOnce()
    {
        var defaults = TrainingOptions.ForEnvironment("CartPole-v1", "impact");
        var options = defaults with { MaxFrames = 64_000, TargetReturn = 1e9, Impact = defaults.Impact with { OpportunisticReuse = false } };
        var trainer = new EmbeddedTrainer(options);
        var result = await trainer.RunAsync(null, CancellationToken.None);
        int batchFrames = options.UnrollLength * options.EnvsPerActor * options.BatchUnrolls;
        long freshBatches = result.Frames / batchFrames;
        Assert.Equal(64_000, result.Frames); // fresh batches, each counted once
        var learner = Assert.IsType<ImpactLearner>(trainer.Learner);
        // The last fresh batch stops the run, possibly before the reuses of the batches still in the buffer.
        Assert.InRange(result.Updates, options.Impact.ReusesPerBatch * freshBatches - options.Impact.BufferBatches * options.Impact.ReusesPerBatch,
            options.Impact.ReusesPerBatch * freshBatches);
        Assert.Equal(result.Updates / options.Impact.TargetUpdatePeriod, learner.TargetUpdates);
    }

    [Fact]
    public async Task ImpactWithOpportunisticReuseTrainsEachBatchOnceToKTimesAndCountsItsFramesOnce()
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", "impact") with { MaxFrames = 64_000, TargetReturn = 1e9 };
        Assert.True(options.Impact.OpportunisticReuse);
        var trainer = new EmbeddedTrainer(options);
        var result = await trainer.RunAsync(null, CancellationToken.None);
        long freshBatches = result.Frames / (options.UnrollLength * options.EnvsPerActor * options.BatchUnrolls);
        Assert.Equal(64_000, result.Frames);
        // How often a batch is reused depends on how often the learner finds no fresh one: between once and K times.
        Assert.InRange(result.Updates, freshBatches, options.Impact.ReusesPerBatch * freshBatches);
    }
}
