using RLMesh.Remote.Env;
using RLMesh.Remote.Hosting;

namespace RLMesh.Remote.Tests;

/// <summary>A server on a free loopback port plus in-process runners; disposing stops all of them.</summary>
public sealed class LoopbackRig : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(5));
    private readonly List<Task> _runners = [];

    private LoopbackRig(RemoteServer server) => Server = server;

    public RemoteServer Server { get; }
    public CancellationToken Token => _stop.Token;

    public static async Task<LoopbackRig> StartAsync(string envId = "CartPole-v1") =>
        new(await RemoteServer.StartAsync(new RemoteServerOptions { EnvId = envId }, CancellationToken.None));

    /// <summary>Starts an in-process runner and waits until it has joined the pool.</summary>
    public async Task<Task> AddRunnerAsync(string id, int envs, TimeSpan stepDelay = default)
    {
        int before = Server.Runners.Count;
        var runner = new RemoteEnvRunner(new RemoteEnvRunnerOptions { Url = Server.EnvUrl, EnvId = Server.EnvId, NumEnvs = envs, RunnerId = id, StepDelay = stepDelay });
        var task = Task.Run(() => runner.RunAsync(_stop.Token));
        _runners.Add(task);
        await WaitUntilAsync(() => Server.Runners.Snapshot().Any(r => r.Id == id) || task.IsCompleted);
        return task;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, double seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Server.DisposeAsync();
        foreach (var t in _runners)
        {
            try { await t.WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (Exception) { /* runners end with the server; their errors are not what these tests check */ }
        }
        _stop.Dispose();
    }
}
