namespace RLMesh.Hosting;

/// <summary>
/// Readiness of the services in this process: each registers itself not-ready and marks itself ready once its
/// connections are up (and not-ready again while it reconnects). /readyz answers 200 only when all are ready.
/// </summary>
public sealed class ServiceHealth
{
    private readonly Dictionary<string, string?> _notReady = [];

    public void NotReady(string component, string reason)
    {
        lock (_notReady) _notReady[component] = reason;
    }

    public void Ready(string component)
    {
        lock (_notReady) _notReady.Remove(component);
    }

    public IReadOnlyDictionary<string, string?> Problems()
    {
        lock (_notReady) return new Dictionary<string, string?>(_notReady);
    }
}

/// <summary>A service's counters, named after the metric catalog, served as JSON under /stats (and later /metrics).</summary>
public interface IServiceStats
{
    /// <summary>env-runner, replay, learner or parameter-server (plus an id where several share a process).</summary>
    string Component { get; }
    object Snapshot();
}

/// <summary>How the process should exit: services record a failure here before stopping the host.</summary>
public sealed class ServiceExit
{
    public int Code { get; private set; }
    public string? Reason { get; private set; }

    public void Fail(string reason)
    {
        Code = 1;
        Reason ??= reason;
    }
}
