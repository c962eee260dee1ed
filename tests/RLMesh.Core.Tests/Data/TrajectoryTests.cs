using RLMesh.Core.Data;
using Xunit;

namespace RLMesh.Core.Tests.Data;

public class TrajectoryTests
{
    private static Trajectory Filled(int steps, int envs, float offset, long version)
    {
        var t = new Trajectory(steps, envs, observationSize: 2, actionSize: 1, policyOutputSize: 3) { PolicyVersion = version };
        for (int i = 0; i < t.Observations.Length; i++) t.Observations[i] = offset + i;
        for (int i = 0; i < t.Actions.Length; i++) t.Actions[i] = offset + 1000 + i;
        for (int i = 0; i < t.Rewards.Length; i++) t.Rewards[i] = offset + 2000 + i;
        for (int i = 0; i < t.BehaviourPolicy.Length; i++) t.BehaviourPolicy[i] = offset + 3000 + i;
        for (int i = 0; i < t.Valid.Length; i++) { t.Valid[i] = i % 2 == 0; t.Terminated[i] = i % 3 == 0; t.Truncated[i] = i % 5 == 0; }
        t.Episodes.Add(new EpisodeStats(envs - 1, 10 + offset, 7));
        return t;
    }

    [Fact]
    public void ConcatenationPlacesEachPartInItsOwnColumnsAtEveryTimeStep()
    {
        var a = Filled(3, 2, 0, version: 5);
        var b = Filled(3, 1, 100_000, version: 4);
        var batch = Trajectory.Concatenate([a, b]);

        Assert.Equal(3, batch.Envs);
        Assert.Equal(4, batch.PolicyVersion); // the oldest part
        for (int t = 0; t <= 3; t++)
        {
            for (int k = 0; k < 2; k++)
            {
                Assert.Equal(a.Observations[(t * 2 + 0) * 2 + k], batch.Observations[(t * 3 + 0) * 2 + k]);
                Assert.Equal(a.Observations[(t * 2 + 1) * 2 + k], batch.Observations[(t * 3 + 1) * 2 + k]);
                Assert.Equal(b.Observations[(t * 1 + 0) * 2 + k], batch.Observations[(t * 3 + 2) * 2 + k]);
            }
        }
        for (int t = 0; t < 3; t++)
        {
            Assert.Equal(a.Rewards[t * 2 + 1], batch.Rewards[t * 3 + 1]);
            Assert.Equal(b.Rewards[t], batch.Rewards[t * 3 + 2]);
            Assert.Equal(b.Valid[t], batch.Valid[t * 3 + 2]);
            Assert.Equal(b.Terminated[t], batch.Terminated[t * 3 + 2]);
            Assert.Equal(a.Truncated[t * 2], batch.Truncated[t * 3]);
            for (int k = 0; k < 3; k++)
                Assert.Equal(b.BehaviourPolicy[t * 3 + k], batch.BehaviourPolicy[(t * 3 + 2) * 3 + k]);
        }
        // Episode statistics keep pointing at the right column.
        Assert.Equal([1, 2], batch.Episodes.Select(e => e.EnvIndex));
    }

    [Fact]
    public void ConcatenatingDifferentShapesIsRefused()
    {
        var a = new Trajectory(3, 2, 2, 1, 3);
        var b = new Trajectory(4, 2, 2, 1, 3);
        Assert.Throws<ArgumentException>(() => Trajectory.Concatenate([a, b]));
    }
}
