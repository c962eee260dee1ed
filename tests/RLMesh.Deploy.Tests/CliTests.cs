using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>`rlmesh scale` against a fake kubectl, `rlmesh status` against a local HTTP server, the kubectl plugin shim.</summary>
public class CliTests
{
    private const string Selector = "app.kubernetes.io/instance=ppo,app.kubernetes.io/component=env-runner";

    private static Tools.Result Scale(FakeKubectl kubectl, params string[] args) =>
        Tools.Rlmesh(["scale", "runners", .. args, "--release", "ppo", "--namespace", "rl", "--kubectl", kubectl.Path]);

    [Fact]
    public void ScalingWithoutAutoscalingScalesTheDeploymentAndSaysFromWhatToWhat()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: 2, autoscaled: false));
        var result = Scale(kubectl, "5");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("Deployment ppo-rlmesh-env-runner replicas: 2 -> 5", result.StdOut);
        Assert.Equal(
            [$"get deployments -l {Selector} -o json --namespace rl", "scale deployment/ppo-rlmesh-env-runner --replicas=5 --namespace rl"],
            kubectl.Calls);
    }

    [Fact]
    public void ZeroRunnersPausesTheDeploymentEvenBelowTheMinimum()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: 3, autoscaled: false, min: 2));
        var result = Scale(kubectl, "0");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("replicas: 3 -> 0", result.StdOut);
        Assert.Contains("scale deployment/ppo-rlmesh-env-runner --replicas=0 --namespace rl", kubectl.Calls);
    }

    [Fact]
    public void WithAutoscalingTheScaledObjectBoundsMoveInsteadOfTheDeployment()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: null, autoscaled: true, min: 1, max: 8), FakeKubectl.ScaledObject(1, 8));
        var result = Scale(kubectl, "6");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("autoscaling is on", result.StdOut);
        Assert.Contains("ScaledObject ppo-rlmesh-env-runner", result.StdOut);
        Assert.Contains("minReplicaCount: 1 -> 6", result.StdOut);
        Assert.Contains("maxReplicaCount: 8 -> 6", result.StdOut);
        Assert.Equal(
            [
                $"get deployments -l {Selector} -o json --namespace rl",
                $"get scaledobjects.keda.sh -l {Selector} -o json --namespace rl",
                """patch scaledobjects.keda.sh ppo-rlmesh-env-runner --type merge -p {"spec":{"minReplicaCount":6,"maxReplicaCount":6}} --namespace rl""",
            ],
            kubectl.Calls);
        Assert.DoesNotContain(kubectl.Calls, c => c.StartsWith("scale ", StringComparison.Ordinal));
    }

    [Fact]
    public void WithTheHpaProviderTheHpaBoundsMove()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: null, autoscaled: true, provider: "hpa"), FakeHpa.List(2, 8));
        var result = Scale(kubectl, "3");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("HorizontalPodAutoscaler ppo-rlmesh-env-runner", result.StdOut);
        Assert.Contains("minReplicas: 2 -> 3", result.StdOut);
        Assert.Contains("maxReplicas: 8 -> 3", result.StdOut);
        Assert.Equal("""patch horizontalpodautoscalers.autoscaling ppo-rlmesh-env-runner --type merge -p {"spec":{"minReplicas":3,"maxReplicas":3}} --namespace rl""", kubectl.Calls[^1]);
    }

    [Fact]
    public void ScalingToTheCurrentCountChangesNothingAndSaysSo()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: 4, autoscaled: false));
        var result = Scale(kubectl, "4");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("already has 4 replicas", result.StdOut);
        Assert.DoesNotContain(kubectl.Calls, c => c.StartsWith("scale ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, "9", "within the chart's runner bounds 1..8")]
    [InlineData(true, "9", "within the chart's runner bounds 1..8")]
    [InlineData(true, "0", "autoscaling is on")]
    [InlineData(false, "-1", "")]
    [InlineData(false, "many", "")]
    public void OutOfRangeRunnerCountIsAUsageErrorAndChangesNothing(bool autoscaled, string n, string message)
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: autoscaled ? null : 2, autoscaled: autoscaled), FakeKubectl.ScaledObject(1, 8));
        var result = Scale(kubectl, n);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr);
        Assert.StartsWith("rlmesh:", result.StdErr);
        Assert.DoesNotContain(kubectl.Calls, c => c.StartsWith("scale ", StringComparison.Ordinal) || c.StartsWith("patch ", StringComparison.Ordinal));
    }

    [Fact]
    public void AMissingReleaseIsAUsageErrorNamingTheSelector()
    {
        using var kubectl = new FakeKubectl("""{"items": []}""");
        var result = Scale(kubectl, "3");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no env-runner Deployment of release 'ppo'", result.StdErr);
        Assert.Contains(Selector, result.StdErr);
    }

    [Fact]
    public void AKubectlFailureExitsWithOneAndShowsItsError()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: 2, autoscaled: false), failWrites: true);
        var result = Scale(kubectl, "3");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Forbidden", result.StdErr);
    }

    [Fact]
    public void KubectlIsFoundThroughTheEnvironmentVariable()
    {
        using var kubectl = new FakeKubectl(FakeKubectl.Deployment(replicas: 1, autoscaled: false));
        var result = Tools.Rlmesh(["scale", "runners", "2", "--release", "ppo"], new Dictionary<string, string> { ["RLMESH_KUBECTL"] = kubectl.Path });
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("replicas: 1 -> 2", result.StdOut);
        Assert.Equal("scale deployment/ppo-rlmesh-env-runner --replicas=2", kubectl.Calls[^1]); // no --namespace: kubectl's context decides
    }

    [Fact]
    public void AMissingKubectlIsAUsageErrorWithAHint()
    {
        var result = Tools.Rlmesh(["scale", "runners", "2", "--kubectl", "/nonexistent/kubectl"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("RLMESH_KUBECTL", result.StdErr);
    }

    private const string CannedStatus = """
        {
          "run": "cartpole",
          "latest_version": 1234,
          "frames_per_second": 7421.6,
          "runners": [
            {"id": "runner-b", "version": 1230, "lag": 4, "last_seen_seconds": 42.5, "healthy": false},
            {"id": "runner-a", "version": 1233, "lag": 1, "last_seen_seconds": 0.4, "healthy": true}
          ],
          "runners_healthy": 1,
          "learner": {"version": 1234, "updates": 5678, "state": "running"},
          "staleness": {"mean_lag": 2.25, "divergence": 0.0123}
        }
        """;

    [Fact]
    public async Task StatusPrintsVersionsThroughputStalenessAndRunnerHealth()
    {
        await using var server = await StatusServer.StartAsync(CannedStatus);
        var result = Tools.Rlmesh(["status", "--url", server.BaseUrl]);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("/status", Assert.Single(server.Paths));
        Assert.Contains("latest version   1234", result.StdOut);
        Assert.Contains("version 1234, 5678 updates", result.StdOut);
        Assert.Contains("frames/s         7,422", result.StdOut);
        Assert.Contains("mean lag 2.25 versions, divergence 0.0123 nats", result.StdOut);
        Assert.Contains("2 (1 healthy, 1 unhealthy)", result.StdOut);
        var runnerLines = result.StdOut.Split('\n').Where(l => l.TrimStart().StartsWith("runner-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, runnerLines.Count);
        Assert.Contains("runner-a", runnerLines[0]);
        Assert.Contains("healthy", runnerLines[0]);
        Assert.Contains("UNHEALTHY", runnerLines[1]);
    }

    [Fact]
    public async Task StatusJsonPrintsTheBodyAsReceived()
    {
        await using var server = await StatusServer.StartAsync(CannedStatus);
        var result = Tools.Rlmesh(["status", "--url", server.BaseUrl, "--json"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(CannedStatus.Trim(), result.StdOut.Trim());
    }

    [Fact]
    public async Task StatusFailsClearlyOnAnUnexpectedBody()
    {
        await using var server = await StatusServer.StartAsync("""{"latest_version": "soon"}""");
        var result = Tools.Rlmesh(["status", "--url", server.BaseUrl]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("did not return status JSON", result.StdErr);
    }

    [Fact]
    public void StatusFailsClearlyWhenTheParameterServerIsUnreachable()
    {
        var result = Tools.Rlmesh(["status", "--url", $"http://127.0.0.1:{StatusServer.FreePort()}"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot reach the parameter server", result.StdErr);
        Assert.Contains("port-forward", result.StdErr);
    }

    [Fact]
    public void KubectlPluginShimRunsRlmeshWithItsArguments()
    {
        var dir = Directory.CreateTempSubdirectory("rlmesh-plugin-");
        try
        {
            var fake = Path.Combine(dir.FullName, "rlmesh");
            File.WriteAllText(fake, "#!/bin/sh\necho \"rlmesh called with: $*\"\n");
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var shim = Path.Combine(Tools.RepoRoot, "ops", "kubectl-rlmesh");
            var result = Tools.Run(shim, ["scale", "runners", "3", "-n", "rl"],
                new Dictionary<string, string> { ["PATH"] = dir.FullName + ":" + Environment.GetEnvironmentVariable("PATH") });
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Equal("rlmesh called with: scale runners 3 -n rl", result.StdOut.Trim());
            Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "kubectl-rlmesh")), "the shim is not packaged next to rlmesh.dll");
        }
        finally { dir.Delete(recursive: true); }
    }
}

/// <summary>A tiny HTTP server answering every request with canned JSON; records the paths asked for.</summary>
public sealed class StatusServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _paths = [];

    private StatusServer(string body)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _loop = Task.Run(() => ServeAsync(Encoding.UTF8.GetBytes(body)));
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
    public IReadOnlyList<string> Paths { get { lock (_paths) return _paths.ToList(); } }

    public static Task<StatusServer> StartAsync(string body) => Task.FromResult(new StatusServer(body));

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private async Task ServeAsync(byte[] body)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            using (client)
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                var requestLine = await reader.ReadLineAsync() ?? "";
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync())) { }
                var parts = requestLine.Split(' ');
                if (parts.Length > 1) lock (_paths) _paths.Add(parts[1]);
                var header = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(header);
                await stream.WriteAsync(body);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
