using Xunit;
using System.Text.Json;

namespace RLMesh.Core.Tests.Envs;

/// <summary>One recorded Gymnasium episode from shared/reference/gym.</summary>
internal sealed record ReferenceEpisode(
    int Episode, string InitKind, double[] InitialState, double[] InitialObs, float[][] Actions, ReferenceStep[] Steps);

internal sealed record ReferenceStep(double[] Obs, double Reward, bool Terminated, bool Truncated);

internal static class GymReference
{
    public const string EnvVar = "RLMESH_GYM_REFERENCE";

    /// <summary>
    /// The folder with the reference trajectories: $RLMESH_GYM_REFERENCE, or the first
    /// shared/reference/gym found walking up from the test binaries (the repo sits next to shared/), or else the
    /// repository's own copy in tests/reference/gym (so a clone anywhere runs every test).
    /// </summary>
    public static string Directory()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvVar);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            if (System.IO.Directory.Exists(fromEnv)) return fromEnv;
            Assert.Fail($"{EnvVar} is set to '{fromEnv}', which is not a directory.");
        }
        var searched = new List<string>();
        foreach (var relative in new[] { Path.Combine("shared", "reference", "gym"), Path.Combine("tests", "reference", "gym") })
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (System.IO.Directory.Exists(candidate)) return candidate;
                searched.Add(candidate);
            }
        }
        Assert.Fail("Gymnasium reference trajectories not found. Set " + EnvVar + " to the folder holding "
            + "CartPole-v1.jsonl and Acrobot-v1.jsonl, or place the repo next to shared/. Looked in:\n  "
            + string.Join("\n  ", searched));
        return null!;
    }

    public static List<ReferenceEpisode> Load(string envId)
    {
        var path = Path.Combine(Directory(), envId + ".jsonl");
        Assert.True(File.Exists(path), $"Reference file {path} is missing.");
        var episodes = new List<ReferenceEpisode>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.Equal(envId, root.GetProperty("env").GetString());
            var actions = root.GetProperty("actions").EnumerateArray()
                .Select(a => a.ValueKind == JsonValueKind.Array
                    ? a.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray()
                    : [(float)a.GetInt32()])
                .ToArray();
            var steps = root.GetProperty("steps").EnumerateArray()
                .Select(s => new ReferenceStep(
                    Doubles(s.GetProperty("obs")),
                    s.GetProperty("reward").GetDouble(),
                    s.GetProperty("terminated").GetBoolean(),
                    s.GetProperty("truncated").GetBoolean()))
                .ToArray();
            episodes.Add(new ReferenceEpisode(
                root.GetProperty("episode").GetInt32(),
                root.GetProperty("init_kind").GetString() ?? "",
                Doubles(root.GetProperty("initial_state")),
                Doubles(root.GetProperty("initial_obs")),
                actions,
                steps));
        }
        return episodes;
    }

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(x => x.GetDouble()).ToArray();
}
