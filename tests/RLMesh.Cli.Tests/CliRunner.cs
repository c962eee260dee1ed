using System.Diagnostics;

namespace RLMesh.Cli.Tests;

/// <summary>Runs the real `rlmesh` program (the built rlmesh.dll next to the tests) as a child process.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "rlmesh.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rlmesh {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// RLMESH_GYM_REFERENCE, else the shared/reference/gym folder beside the repository, else the repository's own copy
    /// in tests/reference/gym.
    /// </summary>
    public static string GymReferenceDirectory()
    {
        var fromEnv = Environment.GetEnvironmentVariable("RLMESH_GYM_REFERENCE");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv)) return fromEnv;
        foreach (var relative in new[] { Path.Combine("shared", "reference", "gym"), Path.Combine("tests", "reference", "gym") })
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (Directory.Exists(candidate)) return candidate;
            }
        }
        throw new DirectoryNotFoundException("no shared/reference/gym or tests/reference/gym above the test directory; set RLMESH_GYM_REFERENCE to its path");
    }
}
