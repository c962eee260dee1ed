using RLMesh.Core.Envs;
using RLMesh.Core.Envs.MinAtar;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

/// <summary>Every record of MinAtar 1.0.15's own trajectories, replayed step by step through the registry's envs.</summary>
public class MinAtarReplayTests
{
    [Fact]
    public void EveryReferenceRecordReplaysExactly()
    {
        var records = MinAtarReference.Load();
        Assert.Equal(80, records.Count);
        var failures = new List<string>();
        foreach (var record in records)
        {
            var failure = Replay(record);
            if (failure is not null) failures.Add($"{record}: {failure}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count}/{records.Count} records diverge from MinAtar:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void TheReferenceCoversEveryRegisteredMinAtarIdWithItsDefaults()
    {
        var records = MinAtarReference.Load();
        foreach (var id in EnvRegistry.Ids.Where(id => id.StartsWith("MinAtar/", StringComparison.Ordinal)))
            Assert.Contains(records, r => r.EnvId == id);
        foreach (var record in records)
        {
            var env = (MinAtarEnv)EnvRegistry.Make(record.EnvId);
            Assert.Equal(record.ActionSet, env.ActionSet);
            Assert.Equal(record.Channels, env.Channels);
            Assert.Equal(record.StickyActionProbability, env.StickyActionProbability);
            Assert.True(record.DifficultyRamping);
        }
    }

    /// <summary>Replays one record; returns the first mismatch, with both frames drawn, or null.</summary>
    private static string? Replay(MinAtarRecord record)
    {
        var env = EnvRegistry.Make(record.EnvId);
        var obs = new float[env.ObservationSize];
        env.Reset((ulong)record.Seed, obs);
        string? mismatch = CompareFrame("reset(seed)", obs, record.ResetObs, record.Channels);
        if (mismatch is not null) return mismatch;
        for (int e = 0; e < record.Episodes.Length; e++)
        {
            var episode = record.Episodes[e];
            for (int t = 0; t < episode.Steps.Length; t++)
            {
                var expected = episode.Steps[t];
                var outcome = env.Step([(float)expected.Action], obs);
                string where = $"episode {e} step {t} (action {expected.Action})";
                if (outcome.Reward != expected.Reward) return $"{where}: reward {outcome.Reward}, expected {expected.Reward}";
                if (outcome.Terminated != expected.Terminated) return $"{where}: terminated {outcome.Terminated}, expected {expected.Terminated}";
                if (outcome.Truncated) return $"{where}: truncated, MinAtar never truncates";
                mismatch = CompareFrame(where, obs, expected.Obs, record.Channels);
                if (mismatch is not null) return mismatch;
            }
            if (!episode.Cut && !episode.Steps[^1].Terminated) return $"episode {e} is neither cut nor terminated in the record";
            env.Reset(null, obs);
            mismatch = CompareFrame($"reset() after episode {e}", obs, episode.NextResetObs, record.Channels);
            if (mismatch is not null) return mismatch;
        }
        return null;
    }

    private static string? CompareFrame(string where, float[] obs, string expectedHex, int channels)
    {
        string actual = ObservationBits.PackToHex(obs);
        if (actual == expectedHex) return null;
        return $"{where}: observation differs\nexpected:\n{MinAtarReference.Picture(expectedHex, channels)}actual:\n{MinAtarReference.Picture(actual, channels)}";
    }
}
