using RLMesh.Core.Data;

namespace RLMesh.Integration.Tests;

internal static class Samples
{
    /// <summary>A fully populated unroll with deterministic contents.</summary>
    public static Trajectory Unroll(int seed, int steps = 8, int envs = 4, int observationSize = 4, int policyOutputSize = 2)
    {
        var random = new Random(seed);
        var t = new Trajectory(steps, envs, observationSize, 1, policyOutputSize) { PolicyVersion = seed, Source = $"runner-{seed}" };
        for (int i = 0; i < t.Observations.Length; i++)
            t.Observations[i] = (float)random.NextDouble();
        for (int i = 0; i < t.Actions.Length; i++)
            t.Actions[i] = random.Next(policyOutputSize);
        for (int i = 0; i < t.Rewards.Length; i++)
            t.Rewards[i] = 1f;
        for (int i = 0; i < t.BehaviourPolicy.Length; i++)
            t.BehaviourPolicy[i] = (float)(random.NextDouble() * 4 - 2);
        for (int i = 0; i < t.Frames; i++)
        {
            t.Terminated[i] = random.Next(20) == 0;
            t.Truncated[i] = random.Next(50) == 0;
            t.Valid[i] = random.Next(30) != 0;
        }
        t.Episodes.Add(new EpisodeStats(0, 21.5, 22));
        return t;
    }

    public static void AssertIdentical(Trajectory expected, Trajectory actual)
    {
        Assert.Equal((expected.Steps, expected.Envs, expected.ObservationSize, expected.ActionSize, expected.PolicyOutputSize),
            (actual.Steps, actual.Envs, actual.ObservationSize, actual.ActionSize, actual.PolicyOutputSize));
        Assert.Equal(expected.Observations, actual.Observations);
        Assert.Equal(expected.Actions, actual.Actions);
        Assert.Equal(expected.Rewards, actual.Rewards);
        Assert.Equal(expected.BehaviourPolicy, actual.BehaviourPolicy);
        Assert.Equal(expected.Terminated, actual.Terminated);
        Assert.Equal(expected.Truncated, actual.Truncated);
        Assert.Equal(expected.Valid, actual.Valid);
        Assert.Equal(expected.PolicyVersion, actual.PolicyVersion);
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.Episodes, actual.Episodes);
    }

    public static string UniqueName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)];
}
