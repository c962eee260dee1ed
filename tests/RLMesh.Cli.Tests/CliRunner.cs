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

    /// <summary>The shared/reference/gym folder beside the repository (or RLMESH_GYM_REFERENCE).</summary>
    public static string GymReferenceDirectory()
    {
        var fromEnv = Environment.GetEnvironmentVariable("RLMESH_GYM_REFERENCE");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv)) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "reference", "gym"), Path.Combine(dir.FullName, "reference", "gym") })
                if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("shared/reference/gym was not found above the test directory; set RLMESH_GYM_REFERENCE to its path");
    }
}
