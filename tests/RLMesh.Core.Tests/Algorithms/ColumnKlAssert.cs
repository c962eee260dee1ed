using RLMesh.Core.Algorithms;
using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Algorithms;

/// <summary>Checks a loss's (and a learner's) per-column KL(behaviour || current) against a direct computation.</summary>
internal static class ColumnKlAssert
{
    public static void MatchesBehaviourKl(RandomBatch s, ReadOnlySpan<double> columnKlSums, ReadOnlySpan<int> columnValidSteps,
        double batchKl, int validSteps)
    {
        int T = s.Batch.Steps, B = s.Batch.Envs, P = s.Policy.OutputSize;
        var ops = new PolicyOps(s.Policy);
        Assert.Equal(B, columnKlSums.Length);
        Assert.Equal(B, columnValidSteps.Length);
        double total = 0;
        int valid = 0;
        for (int b = 0; b < B; b++)
        {
            double kl = 0;
            int count = 0;
            for (int t = 0; t < T; t++)
            {
                int i = t * B + b;
                if (!s.Batch.Valid[i]) continue;
                count++;
                kl += ops.Kl(s.Batch.BehaviourPolicy.AsSpan(i * P, P), s.Outputs.AsSpan(i * P, P));
            }
            Assert.Equal(kl, columnKlSums[b], 5);
            Assert.Equal(count, columnValidSteps[b]);
            total += columnKlSums[b];
            valid += columnValidSteps[b];
        }
        Assert.Equal(validSteps, valid);
        Assert.Equal(batchKl, total / valid, 5);
    }

    /// <summary>
    /// A learner's update on a 4-column categorical batch reports one KL sum and one valid-step count per column, and
    /// the sums add up to the update's mean KL (what APS reads per runner).
    /// </summary>
    public static void LearnerReportsPerColumnKl(Func<ActorCriticNet, ILearner> create)
    {
        var spec = new NetworkSpec(1, [4], Activation.Tanh, new CategoricalHead(2));
        var learner = create(ActorCriticNet.Create(spec, 3));
        var batch = RandomBatch.Create(PolicySpec.Categorical(2), T: 3, B: 4, seed: 5).Batch;
        var stats = learner.Update(batch);

        Assert.Equal(4, learner.ColumnKlSums.Length);
        Assert.Equal(4, learner.ColumnValidSteps.Length);
        double total = 0;
        foreach (var x in learner.ColumnKlSums) total += x;
        Assert.Equal(stats.Kl, total / stats.Loss.ValidSteps, 6);
    }
}
