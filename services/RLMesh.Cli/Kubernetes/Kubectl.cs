using System.Diagnostics;
using System.Text.Json;
using RLMesh.Cli.Commands;

namespace RLMesh.Cli.Kubernetes;

/// <summary>kubectl failed (cluster unreachable, forbidden, no such resource): exit code 1 with its message.</summary>
public sealed class KubectlException(string message) : Exception(message);

/// <summary>
/// The seam to the cluster: every Kubernetes call goes through the `kubectl` binary (KubernetesClient is not
/// obtainable here). Which kubectl: --kubectl, else RLMESH_KUBECTL, else the first `kubectl` on PATH.
/// </summary>
public sealed class Kubectl(string path, string? @namespace)
{
    public const string EnvironmentVariable = "RLMESH_KUBECTL";

    public string Path { get; } = path;

    public static Kubectl Locate(string? explicitPath, string? @namespace)
    {
        string? path = !string.IsNullOrEmpty(explicitPath) ? explicitPath : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(path))
            path = FindOnPath("kubectl");
        if (path is null || !File.Exists(path))
            throw new UsageException($"kubectl was not found{(path is null ? " on PATH" : $" at '{path}'")}: install it, or pass --kubectl PATH or set {EnvironmentVariable}");
        return new Kubectl(path, @namespace);
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Runs kubectl with the namespace flag added when one was given; throws on a non-zero exit.</summary>
    public string Run(params string[] args)
    {
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (!string.IsNullOrEmpty(@namespace))
        {
            info.ArgumentList.Add("--namespace");
            info.ArgumentList.Add(@namespace);
        }
        using var process = Process.Start(info) ?? throw new KubectlException($"could not start {Path}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new KubectlException($"kubectl {string.Join(' ', args)} did not answer within 60 s");
        }
        if (process.ExitCode != 0)
            throw new KubectlException($"kubectl {string.Join(' ', args)} failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
        return stdout.Result;
    }

    /// <summary>`kubectl get KIND -l SELECTOR -o json`: the items of the list.</summary>
    public IReadOnlyList<JsonElement> List(string kind, string selector)
    {
        var json = Run("get", kind, "-l", selector, "-o", "json");
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
                throw new KubectlException($"kubectl get {kind} returned JSON without an items list");
            return items.EnumerateArray().Select(i => i.Clone()).ToList();
        }
        catch (JsonException ex)
        {
            throw new KubectlException($"kubectl get {kind} did not return JSON: {ex.Message}");
        }
    }
}
