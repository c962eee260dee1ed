using Xunit;
using RLMesh.Core.Envs;

namespace RLMesh.Core.Tests.Envs;

public class ReferenceReplayTests
{
    private const double Tolerance = 1e-5;

    [Fact]
    public void CartPoleReplaysEveryRecordedGymnasiumEpisode() => ReplayAll("CartPole-v1", 40, 7682);

    [Fact]
    public void AcrobotReplaysEveryRecordedGymnasiumEpisode() => ReplayAll("Acrobot-v1", 40, 12463);

    private static bool Close(double actual, double expected)
        => Math.Abs(actual - expected) <= Tolerance * Math.Max(1.0, Math.Abs(expected));

    private static void ReplayAll(string envId, int expectedEpisodes, int expectedSteps)
    {
        var episodes = GymReference.Load(envId);
        Assert.Equal(expectedEpisodes, episodes.Count);
        Assert.Equal(expectedSteps, episodes.Sum(e => e.Steps.Length));

        var failures = new List<string>();
        int bitExactObs = 0, obsValues = 0;
        foreach (var ep in episodes)
        {
            var failure = Replay(envId, ep, ref bitExactObs, ref obsValues);
            if (failure is not null) failures.Add($"episode {ep.Episode} ({ep.InitKind}): {failure}");
        }
        Assert.True(failures.Count == 0,
            $"{failures.Count}/{episodes.Count} {envId} episodes diverge from Gymnasium:\n" + string.Join("\n", failures));
        // Not required by the tolerance, but the env is meant to be bit-faithful; keep it visible.
        Assert.True(bitExactObs == obsValues, $"{obsValues - bitExactObs} of {obsValues} observation values are not bit-identical.");
    }

    /// <summary>Replays one episode; returns a description of the first mismatch, or null.</summary>
    private static string? Replay(string envId, ReferenceEpisode ep, ref int bitExact, ref int total)
    {
        var env = EnvRegistry.Make(envId);
        env.Reset(0);
        env.SetState(ep.InitialState);
        var obs = new float[env.ObservationSize];
        env.GetObservation(obs);
        for (int j = 0; j < obs.Length; j++)
        {
            if (!Close(obs[j], ep.InitialObs[j])) return $"initial obs[{j}] = {obs[j]:R}, expected {ep.InitialObs[j]:R}";
        }
        if (ep.Actions.Length != ep.Steps.Length) return "record has different action and step counts";

        for (int t = 0; t < ep.Steps.Length; t++)
        {
            var expected = ep.Steps[t];
            var outcome = env.Step(ep.Actions[t], obs);
            for (int j = 0; j < obs.Length; j++)
            {
                total++;
                if (obs[j] == (float)expected.Obs[j]) bitExact++;
                if (!Close(obs[j], expected.Obs[j]))
                    return $"step {t}: obs[{j}] = {obs[j]:R}, expected {expected.Obs[j]:R}";
            }
            if (!Close(outcome.Reward, expected.Reward)) return $"step {t}: reward {outcome.Reward:R}, expected {expected.Reward:R}";
            if (outcome.Terminated != expected.Terminated) return $"step {t}: terminated {outcome.Terminated}, expected {expected.Terminated}";
            if (outcome.Truncated != expected.Truncated) return $"step {t}: truncated {outcome.Truncated}, expected {expected.Truncated}";
            bool ended = outcome.Terminated || outcome.Truncated;
            bool last = t == ep.Steps.Length - 1;
            if (ended != last) return $"step {t}: episode {(ended ? "ended" : "did not end")}, but the record has {ep.Steps.Length} steps";
        }
        return null;
    }
}
