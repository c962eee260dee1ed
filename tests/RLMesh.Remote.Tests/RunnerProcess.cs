using System.Diagnostics;
using System.Text;

namespace RLMesh.Remote.Tests;

/// <summary>`dotnet rlmesh.dll remote-runner ...` as a child process; Dispose kills its process tree.</summary>
public sealed class RunnerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    public RunnerProcess(Uri url, string id, int envs, string mode = "remote-env", ulong? seed = null)
    {
        Id = id;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rlmesh.dll"));
        foreach (var a in new[] { "remote-runner", "--connect", url.ToString(), "--envs", envs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--id", id, "--mode", mode })
            info.ArgumentList.Add(a);
        if (seed is ulong s)
        {
            info.ArgumentList.Add("--seed");
            info.ArgumentList.Add(s.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        _process = Process.Start(info)!;
        _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Id { get; }
    public bool HasExited => _process.HasExited;
    public string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);
    public int ExitCode => _process.ExitCode;

    public void Dispose()
    {
        try { Kill(); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
