using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>
/// `rlmesh scale` and `rlmesh status --kubernetes` against a fake Kubernetes API server, `rlmesh status` against a
/// local HTTP server, the kubectl plugin shim.
/// </summary>
public class CliTests
{
    private const string Selector = "app.kubernetes.io/instance=ppo,app.kubernetes.io/component=env-runner";
    private const string Runner = "ppo-rlmesh-env-runner";
    private const string MergePatch = "application/merge-patch+json";

    private static Tools.Result Scale(FakeApiServer api, params string[] args) =>
        Tools.Rlmesh(["scale", "runners", .. args, "--release", "ppo", "--namespace", "rl"], api.Environment);

    private static void AssertList(ApiRequest request, string path, string selector)
    {
        Assert.Equal("GET", request.Method);
        Assert.Equal(path, request.Path);
        Assert.Equal(selector, request.LabelSelector);
        Assert.Equal($"Bearer {FakeApiServer.Token}", request.Authorization);
    }

    private static void AssertMergePatch(ApiRequest request, string path, string expectedBody)
    {
        Assert.Equal("PATCH", request.Method);
        Assert.Equal(path, request.Path);
        Assert.StartsWith(MergePatch, request.ContentType);
        Assert.Equal($"Bearer {FakeApiServer.Token}", request.Authorization);
        Assert.Equal(JsonSerializer.Serialize(JsonDocument.Parse(expectedBody).RootElement), JsonSerializer.Serialize(request.Json));
    }

    [Fact]
    public async Task ScalingWithoutAutoscalingPatchesTheDeploymentsScaleSubresourceAndSaysFromWhatToWhat()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: 2, autoscaled: false))
            .On("PATCH", FakeApiServer.Paths.DeploymentScale(Runner), FakeApiServer.Scale(Runner, 5));
        var result = Scale(api, "5");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains($"Deployment {Runner} replicas: 2 -> 5", result.StdOut);
        Assert.Equal(2, api.Requests.Count);
        AssertList(api.Requests[0], FakeApiServer.Paths.Deployments(), Selector);
        AssertMergePatch(api.Requests[1], FakeApiServer.Paths.DeploymentScale(Runner), """{"spec":{"replicas":5}}""");
    }

    [Fact]
    public async Task ZeroRunnersPausesTheDeploymentEvenBelowTheMinimum()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: 3, autoscaled: false, min: 2))
            .On("PATCH", FakeApiServer.Paths.DeploymentScale(Runner), FakeApiServer.Scale(Runner, 0));
        var result = Scale(api, "0");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("replicas: 3 -> 0", result.StdOut);
        AssertMergePatch(Assert.Single(api.Writes), FakeApiServer.Paths.DeploymentScale(Runner), """{"spec":{"replicas":0}}""");
    }

    [Fact]
    public async Task WithAutoscalingTheScaledObjectBoundsMoveInsteadOfTheDeployment()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: null, autoscaled: true, min: 1, max: 8))
            .On("GET", FakeApiServer.Paths.ScaledObjects(), FakeApiServer.ScaledObjects(1, 8))
            .On("PATCH", FakeApiServer.Paths.ScaledObjects() + "/" + Runner, FakeApiServer.ScaledObjects(6, 6));
        var result = Scale(api, "6");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("autoscaling is on", result.StdOut);
        Assert.Contains($"ScaledObject {Runner}", result.StdOut);
        Assert.Contains("minReplicaCount: 1 -> 6", result.StdOut);
        Assert.Contains("maxReplicaCount: 8 -> 6", result.StdOut);
        Assert.Equal(3, api.Requests.Count);
        AssertList(api.Requests[0], FakeApiServer.Paths.Deployments(), Selector);
        AssertList(api.Requests[1], FakeApiServer.Paths.ScaledObjects(), Selector);
        AssertMergePatch(api.Requests[2], FakeApiServer.Paths.ScaledObjects() + "/" + Runner, """{"spec":{"minReplicaCount":6,"maxReplicaCount":6}}""");
    }

    [Fact]
    public async Task WithTheHpaProviderTheHpaBoundsMove()
    {
        string hpa = FakeApiServer.Hpas(2, 8);
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: null, autoscaled: true, provider: "hpa"))
            .On("GET", FakeApiServer.Paths.Hpas(), hpa)
            .On("PATCH", FakeApiServer.Paths.Hpas() + "/" + Runner, JsonDocument.Parse(hpa).RootElement.GetProperty("items")[0].GetRawText());
        var result = Scale(api, "3");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains($"HorizontalPodAutoscaler {Runner}", result.StdOut);
        Assert.Contains("minReplicas: 2 -> 3", result.StdOut);
        Assert.Contains("maxReplicas: 8 -> 3", result.StdOut);
        AssertList(api.Requests[1], FakeApiServer.Paths.Hpas(), Selector);
        AssertMergePatch(Assert.Single(api.Writes), FakeApiServer.Paths.Hpas() + "/" + Runner, """{"spec":{"minReplicas":3,"maxReplicas":3}}""");
    }

    [Fact]
    public async Task ScalingToTheCurrentCountChangesNothingAndSaysSo()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: 4, autoscaled: false));
        var result = Scale(api, "4");
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("already has 4 replicas", result.StdOut);
        Assert.Empty(api.Writes);
    }

    [Theory]
    [InlineData(false, "9", "within the chart's runner bounds 1..8")]
    [InlineData(true, "9", "within the chart's runner bounds 1..8")]
    [InlineData(true, "0", "autoscaling is on")]
    [InlineData(false, "-1", "")]
    [InlineData(false, "many", "")]
    public async Task OutOfRangeRunnerCountIsAUsageErrorAndChangesNothing(bool autoscaled, string n, string message)
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: autoscaled ? null : 2, autoscaled: autoscaled))
            .On("GET", FakeApiServer.Paths.ScaledObjects(), FakeApiServer.ScaledObjects(1, 8));
        var result = Scale(api, n);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr);
        Assert.StartsWith("rlmesh:", result.StdErr);
        Assert.Empty(api.Writes);
    }

    [Fact]
    public async Task AMissingReleaseIsAUsageErrorNamingTheSelector()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.List("apps/v1", "DeploymentList"));
        var result = Scale(api, "3");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no env-runner Deployment of release 'ppo'", result.StdErr);
        Assert.Contains(Selector, result.StdErr);
    }

    [Fact]
    public async Task AForbiddenPatchExitsWithOneAndShowsTheServersReason()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: 2, autoscaled: false))
            .On("PATCH", FakeApiServer.Paths.DeploymentScale(Runner),
                FakeApiServer.Status(403, "Forbidden", "deployments.apps \"ppo-rlmesh-env-runner\" is forbidden: User \"tester\" cannot patch resource \"deployments/scale\""), status: 403);
        var result = Scale(api, "3");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("rlmesh: the API server refused to scale Deployment ppo-rlmesh-env-runner in namespace rl (403 Forbidden)", result.StdErr);
        Assert.Contains("cannot patch resource", result.StdErr);
        Assert.Contains("RBAC", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Fact]
    public async Task ADeploymentThatVanishedBeforeThePatchExitsWithOneAndSaysNotFound()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: 2, autoscaled: false))
            .On("PATCH", FakeApiServer.Paths.DeploymentScale(Runner),
                FakeApiServer.Status(404, "NotFound", "deployments.apps \"ppo-rlmesh-env-runner\" not found"), status: 404);
        var result = Scale(api, "3");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot scale Deployment ppo-rlmesh-env-runner in namespace rl: not found (404)", result.StdErr);
        Assert.Contains("\"ppo-rlmesh-env-runner\" not found", result.StdErr);
    }

    [Fact]
    public async Task AClusterWithoutKedaExitsWithOneAndAsksWhetherItIsInstalled()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.RunnerDeployments(replicas: null, autoscaled: true));
        var result = Scale(api, "3");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is KEDA installed?", result.StdErr);
        Assert.Contains("not found (404)", result.StdErr);
    }

    [Fact]
    public async Task AnUnreachableApiServerExitsWithOneAndNamesTheServer()
    {
        await using var api = new FakeApiServer();
        string unreachable = $"http://127.0.0.1:{StatusServer.FreePort()}";
        string kubeconfig = Path.Combine(Path.GetDirectoryName(api.KubeconfigPath)!, "unreachable");
        File.WriteAllText(kubeconfig, FakeApiServer.Kubeconfig(unreachable));
        var result = Tools.Rlmesh(["scale", "runners", "3", "--release", "ppo", "--kubeconfig", kubeconfig], api.Environment);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot reach the Kubernetes API server", result.StdErr);
        Assert.Contains(unreachable, result.StdErr);
    }

    [Fact]
    public async Task WithoutAnyKubeconfigOutsideAPodItIsAUsageErrorWithAHint()
    {
        await using var api = new FakeApiServer();
        var environment = api.Environment;
        environment["KUBECONFIG"] = "";
        var result = Tools.Rlmesh(["scale", "runners", "2", "--release", "ppo"], environment);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no Kubernetes configuration", result.StdErr);
        Assert.Contains("--kubeconfig", result.StdErr);
        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task AMissingKubeconfigFileIsAUsageError()
    {
        await using var api = new FakeApiServer();
        var result = Tools.Rlmesh(["scale", "runners", "2", "--kubeconfig", "/nonexistent/kubeconfig"], api.Environment);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--kubeconfig /nonexistent/kubeconfig does not exist", result.StdErr);
    }

    [Fact]
    public async Task WithoutNamespaceTheContextsNamespaceIsUsedAndContextPicksAnother()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments("rl"), FakeApiServer.RunnerDeployments(replicas: 1, autoscaled: false))
            .On("PATCH", FakeApiServer.Paths.DeploymentScale(Runner, "rl"), FakeApiServer.Scale(Runner, 2))
            .On("GET", FakeApiServer.Paths.Deployments("other"), FakeApiServer.RunnerDeployments(replicas: 1, autoscaled: false))
            .On("PATCH", FakeApiServer.Paths.DeploymentScale(Runner, "other"), FakeApiServer.Scale(Runner, 2));
        var current = Tools.Rlmesh(["scale", "runners", "2", "--release", "ppo"], api.Environment);
        Assert.True(current.ExitCode == 0, current.Output);
        var other = Tools.Rlmesh(["scale", "runners", "2", "--release", "ppo", "--context", "other", "--kubeconfig", api.KubeconfigPath],
            new Dictionary<string, string>(api.Environment) { ["KUBECONFIG"] = "" });
        Assert.True(other.ExitCode == 0, other.Output);
        Assert.Equal(
            [FakeApiServer.Paths.DeploymentScale(Runner, "rl"), FakeApiServer.Paths.DeploymentScale(Runner, "other")],
            api.Writes.Select(w => w.Path));
    }

    [Fact]
    public async Task AnUnknownContextIsAUsageError()
    {
        await using var api = new FakeApiServer();
        var result = Tools.Rlmesh(["scale", "runners", "2", "--context", "nowhere"], api.Environment);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("nowhere", result.StdErr);
        Assert.Contains(api.KubeconfigPath, result.StdErr);
        Assert.Empty(api.Requests);
    }

    private static FakeApiServer ReleaseWithThreeRoles() => new FakeApiServer()
        .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.List("apps/v1", "DeploymentList",
            FakeApiServer.Deployment("ppo-rlmesh-learner", "learner", 1),
            FakeApiServer.Deployment(Runner, "env-runner", 3, new Dictionary<string, string> { ["rlmesh.io/autoscaling"] = "keda" }),
            FakeApiServer.Deployment("ppo-rlmesh-parameter-server", "parameter-server", 1)))
        .On("GET", FakeApiServer.Paths.Pods(), FakeApiServer.List("v1", "PodList",
            FakeApiServer.Pod("ppo-rlmesh-learner-a", "learner", ready: true),
            FakeApiServer.Pod("ppo-rlmesh-env-runner-a", "env-runner", ready: true),
            FakeApiServer.Pod("ppo-rlmesh-env-runner-b", "env-runner", ready: true),
            FakeApiServer.Pod("ppo-rlmesh-env-runner-c", "env-runner", ready: false),
            FakeApiServer.Pod("ppo-rlmesh-env-runner-old", "env-runner", ready: false, phase: "Failed"),
            FakeApiServer.Pod("ppo-rlmesh-parameter-server-a", "parameter-server", ready: false)));

    [Fact]
    public async Task StatusKubernetesShowsEachRolesReplicasAndReadyPods()
    {
        await using var api = ReleaseWithThreeRoles();
        var result = Tools.Rlmesh(["status", "--kubernetes", "--release", "ppo"], api.Environment);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(2, api.Requests.Count);
        AssertList(api.Requests[0], FakeApiServer.Paths.Deployments(), "app.kubernetes.io/instance=ppo");
        AssertList(api.Requests[1], FakeApiServer.Paths.Pods(), "app.kubernetes.io/instance=ppo");
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.StartsWith("release ppo in namespace rl, from context fake of", lines[0]);
        Assert.Equal(["env-runner", "learner", "parameter-server"], lines.Skip(2).Select(l => l.Split(' ')[0]));
        Assert.Matches(@"^env-runner\s+ppo-rlmesh-env-runner\s+3\s+2/3  \(autoscaling: keda\)$", lines[2]);
        Assert.Matches(@"^learner\s+ppo-rlmesh-learner\s+1\s+1/1$", lines[3]);
        Assert.Matches(@"^parameter-server\s+ppo-rlmesh-parameter-server\s+1\s+0/1$", lines[4]);
    }

    [Fact]
    public async Task StatusKubernetesJsonHasOneObjectPerRole()
    {
        await using var api = ReleaseWithThreeRoles();
        var result = Tools.Rlmesh(["status", "--kubernetes", "--release", "ppo", "--json"], api.Environment);
        Assert.True(result.ExitCode == 0, result.Output);
        var runner = JsonDocument.Parse(result.StdOut).RootElement.EnumerateArray().Single(r => r.GetProperty("role").GetString() == "env-runner");
        Assert.Equal(Runner, runner.GetProperty("deployment").GetString());
        Assert.Equal(3, runner.GetProperty("replicas").GetInt32());
        Assert.Equal(3, runner.GetProperty("pods").GetInt32());
        Assert.Equal(2, runner.GetProperty("ready_pods").GetInt32());
        Assert.Equal("keda", runner.GetProperty("autoscaling").GetString());
    }

    [Fact]
    public async Task StatusKubernetesForAnUnknownReleaseIsAUsageError()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.List("apps/v1", "DeploymentList"));
        var result = Tools.Rlmesh(["status", "--kubernetes", "--release", "nope"], api.Environment);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("release 'nope' has no Deployments in namespace rl", result.StdErr);
    }

    [Fact]
    public async Task StatusKubernetesForbiddenExitsWithOne()
    {
        await using var api = new FakeApiServer()
            .On("GET", FakeApiServer.Paths.Deployments(), FakeApiServer.Status(403, "Forbidden", "deployments.apps is forbidden"), status: 403);
        var result = Tools.Rlmesh(["status", "--kubernetes"], api.Environment);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("refused to list deployments in namespace rl (403 Forbidden): deployments.apps is forbidden", result.StdErr);
    }

    [Fact]
    public void KubernetesFlagsWithoutKubernetesAreAUsageError()
    {
        var result = Tools.Rlmesh(["status", "--release", "ppo"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--release applies to `rlmesh status --kubernetes` only", result.StdErr);
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
