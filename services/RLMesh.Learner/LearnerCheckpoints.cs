using RLMesh.Core.Runtime;

namespace RLMesh.Learner;

/// <summary>
/// The learner's checkpoint file (Core's <see cref="Checkpoint"/> format: spec, weights, optimizer state, version,
/// frames) in one directory: written to a temp file, flushed, then renamed over <c>learner.rlmckpt</c>, so a crash at
/// any point leaves the previous checkpoint or the new one, never a torn file.
/// </summary>
public static class LearnerCheckpoints
{
    public const string FileName = "learner.rlmckpt";

    public static Checkpoint? TryLoad(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return null;
        using var stream = File.OpenRead(path);
        return Checkpoint.ReadFrom(stream);
    }

    public static void Write(string directory, Checkpoint checkpoint)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            checkpoint.WriteTo(stream);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
