using System.IO.Compression;
using System.Text.Json;
using Xunit;

namespace RLMesh.Core.Tests.Envs;

/// <summary>One record of MinAtar's reference file: an env, a seed and three back-to-back episodes.</summary>
internal sealed record MinAtarRecord(
    string EnvId, int Seed, string Policy, int Channels, int[] ActionSet, double StickyActionProbability,
    bool DifficultyRamping, string ResetObs, MinAtarEpisode[] Episodes)
{
    public override string ToString() => $"{EnvId} seed {Seed} {Policy}";
}

internal sealed record MinAtarEpisode(MinAtarStep[] Steps, bool Cut, double Return, string NextResetObs);

internal sealed record MinAtarStep(int Action, double Reward, bool Terminated, string Obs);

internal static class MinAtarReference
{
    public const string EnvVar = "RLMESH_MINATAR_REFERENCE";
    public const string FileName = "trajectories.jsonl.gz";

    /// <summary>
    /// The reference file: in $RLMESH_MINATAR_REFERENCE, or the first shared/reference/minatar found walking up
    /// from the test binaries, or else the repository's copy in tests/reference/minatar.
    /// </summary>
    public static string FilePath()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvVar);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            var path = Path.Combine(fromEnv, FileName);
            if (File.Exists(path)) return path;
            Assert.Fail($"{EnvVar} is set to '{fromEnv}', which holds no {FileName}.");
        }
        var searched = new List<string>();
        foreach (var relative in new[] { Path.Combine("shared", "reference", "minatar"), Path.Combine("tests", "reference", "minatar") })
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative, FileName);
                if (File.Exists(candidate)) return candidate;
                searched.Add(candidate);
            }
        }
        Assert.Fail("MinAtar reference trajectories not found. Set " + EnvVar + " to the folder holding "
            + FileName + ", or place the repo next to shared/. Looked in:\n  " + string.Join("\n  ", searched));
        return null!;
    }

    public static List<MinAtarRecord> Load()
    {
        var records = new List<MinAtarRecord>();
        using var file = File.OpenRead(FilePath());
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var episodes = root.GetProperty("episodes").EnumerateArray().Select(e => new MinAtarEpisode(
                e.GetProperty("steps").EnumerateArray().Select(s => new MinAtarStep(
                    s.GetProperty("a").GetInt32(),
                    s.GetProperty("r").GetDouble(),
                    s.GetProperty("term").GetBoolean(),
                    s.GetProperty("obs").GetString()!)).ToArray(),
                e.GetProperty("cut").GetBoolean(),
                e.GetProperty("return").GetDouble(),
                e.GetProperty("next_reset_obs").GetString()!)).ToArray();
            records.Add(new MinAtarRecord(
                root.GetProperty("env_id").GetString()!,
                root.GetProperty("seed").GetInt32(),
                root.GetProperty("policy").GetString()!,
                root.GetProperty("channels").GetInt32(),
                root.GetProperty("action_set").EnumerateArray().Select(a => a.GetInt32()).ToArray(),
                root.GetProperty("sticky_action_prob").GetDouble(),
                root.GetProperty("difficulty_ramping").GetBoolean(),
                root.GetProperty("reset_obs").GetString()!,
                episodes));
        }
        return records;
    }

    /// <summary>A packed frame as a 10 x 10 picture, one line per row, each cell the set planes' numbers (or '.').</summary>
    public static string Picture(string hex, int channels)
    {
        var values = new float[100 * channels];
        RLMesh.Core.Envs.ObservationBits.Unpack(Convert.FromHexString(hex), values);
        var sb = new System.Text.StringBuilder();
        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                var cell = string.Concat(Enumerable.Range(0, channels).Where(c => values[(y * 10 + x) * channels + c] == 1f).Select(c => c.ToString("x")));
                sb.Append((cell.Length == 0 ? "." : cell).PadRight(4));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
