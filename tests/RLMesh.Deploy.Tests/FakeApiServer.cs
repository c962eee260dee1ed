using System.Net;
using System.Text;
using System.Text.Json;

namespace RLMesh.Deploy.Tests;

/// <summary>One request as the fake API server received it.</summary>
public sealed record ApiRequest(string Method, string Path, string? LabelSelector, string? ContentType, string Body, string? Authorization)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();
}

/// <summary>
/// A Kubernetes API server stand-in on 127.0.0.1 (HttpListener, a free port): answers the paths it was given with
/// canned JSON, everything else with a 404 Status, and records every request. <see cref="KubeconfigPath"/> is a
/// kubeconfig file pointing at it with two contexts: "fake" (namespace rl, the current one) and "other" (namespace other).
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    public const string Token = "test-token";
    private HttpListener _listener;
    private readonly Dictionary<(string Method, string Path), (int Status, string Body)> _routes = [];
    private readonly List<ApiRequest> _requests = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("rlmesh-fake-api-");
    private readonly Task _loop;

    public FakeApiServer()
    {
        // A port that was free a moment ago can be taken by then; try a few.
        // A fresh listener per attempt: a failed Start leaves the listener's endpoint table half set up, and
        // closing it later tries to bind the taken port again.
        for (int attempt = 0; ; attempt++)
        {
            Port = StatusServer.FreePort();
            _listener = new HttpListener();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                try { _listener.Close(); } catch (HttpListenerException) { }
            }
        }
        KubeconfigPath = Path.Combine(_dir.FullName, "config");
        File.WriteAllText(KubeconfigPath, Kubeconfig(BaseUrl));
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; private set; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public string KubeconfigPath { get; }
    public IReadOnlyList<ApiRequest> Requests { get { lock (_requests) return _requests.ToList(); } }
    public IReadOnlyList<ApiRequest> Writes => Requests.Where(r => r.Method != "GET").ToList();

    /// <summary>The environment a CLI run needs to use this server: KUBECONFIG set, HOME elsewhere, not "in a pod".</summary>
    public Dictionary<string, string> Environment => new()
    {
        ["KUBECONFIG"] = KubeconfigPath,
        ["HOME"] = _dir.FullName,
        ["KUBERNETES_SERVICE_HOST"] = "",
    };

    public FakeApiServer On(string method, string path, string body, int status = 200)
    {
        lock (_routes) _routes[(method, path)] = (status, body);
        return this;
    }

    public static string Kubeconfig(string server) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: {server}
        users:
        - name: tester
          user:
            token: {Token}
        contexts:
        - name: fake
          context:
            cluster: fake
            user: tester
            namespace: rl
        - name: other
          context:
            cluster: fake
            user: tester
            namespace: other
        current-context: fake
        """;

    public static string Status(int code, string reason, string message) =>
        JsonSerializer.Serialize(new { kind = "Status", apiVersion = "v1", status = "Failure", message, reason, code });

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            var request = context.Request;
            string body;
            using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
                body = await reader.ReadToEndAsync();
            string path = request.Url!.AbsolutePath;
            lock (_requests)
                _requests.Add(new ApiRequest(request.HttpMethod, path, request.QueryString["labelSelector"], request.ContentType, body, request.Headers["Authorization"]));
            (int Status, string Body) answer;
            lock (_routes)
                answer = _routes.TryGetValue((request.HttpMethod, path), out var found)
                    ? found
                    : (404, Status(404, "NotFound", $"the fake API server has no {request.HttpMethod} {path}"));
            var bytes = Encoding.UTF8.GetBytes(answer.Body);
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        // Managed HttpListener unregisters its prefix by looking the port up again and may try to bind it anew
        // (seen as "Address already in use" under a parallel test run); the test's checks are done by now.
        try { _listener.Close(); } catch (HttpListenerException) { }
        try { await _loop; } catch (ObjectDisposedException) { }
        _dir.Delete(recursive: true);
    }

    public static class Paths
    {
        public static string Deployments(string ns = "rl") => $"/apis/apps/v1/namespaces/{ns}/deployments";
        public static string DeploymentScale(string name, string ns = "rl") => $"/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale";
        public static string ScaledObjects(string ns = "rl") => $"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects";
        public static string Hpas(string ns = "rl") => $"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers";
        public static string Pods(string ns = "rl") => $"/api/v1/namespaces/{ns}/pods";
    }

    /// <summary>A DeploymentList with one Deployment as the chart renders it (bounds and autoscaling mode as annotations).</summary>
    public static string RunnerDeployments(int? replicas, bool autoscaled, int min = 1, int max = 8, string name = "ppo-rlmesh-env-runner", string provider = "keda") =>
        List("apps/v1", "DeploymentList", Deployment(name, "env-runner", replicas, new Dictionary<string, string>
        {
            ["rlmesh.io/min-replicas"] = min.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["rlmesh.io/max-replicas"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["rlmesh.io/autoscaling"] = autoscaled ? provider : "off",
        }));

    public static object Deployment(string name, string component, int? replicas, Dictionary<string, string>? annotations = null)
    {
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/instance"] = "ppo", ["app.kubernetes.io/component"] = component };
        var spec = new Dictionary<string, object> { ["selector"] = new { matchLabels = labels } };
        if (replicas is int r) spec["replicas"] = r;
        return new { apiVersion = "apps/v1", kind = "Deployment", metadata = new { name, @namespace = "rl", labels, annotations = annotations ?? [] }, spec };
    }

    public static object Pod(string name, string component, bool ready, string phase = "Running") => new
    {
        apiVersion = "v1",
        kind = "Pod",
        metadata = new { name, @namespace = "rl", labels = new Dictionary<string, string> { ["app.kubernetes.io/instance"] = "ppo", ["app.kubernetes.io/component"] = component } },
        status = new { phase, conditions = new[] { new { type = "Ready", status = ready ? "True" : "False" } } },
    };

    public static string ScaledObjects(int min, int max) =>
        List("keda.sh/v1alpha1", "ScaledObjectList", new
        {
            apiVersion = "keda.sh/v1alpha1", kind = "ScaledObject", metadata = new { name = "ppo-rlmesh-env-runner", @namespace = "rl" },
            spec = new { minReplicaCount = min, maxReplicaCount = max, scaleTargetRef = new { name = "ppo-rlmesh-env-runner" } },
        });

    public static string Hpas(int min, int max) =>
        List("autoscaling/v2", "HorizontalPodAutoscalerList", new
        {
            apiVersion = "autoscaling/v2", kind = "HorizontalPodAutoscaler", metadata = new { name = "ppo-rlmesh-env-runner", @namespace = "rl" },
            spec = new { minReplicas = min, maxReplicas = max, scaleTargetRef = new { apiVersion = "apps/v1", kind = "Deployment", name = "ppo-rlmesh-env-runner" } },
        });

    public static string List(string apiVersion, string kind, params object[] items) =>
        JsonSerializer.Serialize(new { apiVersion, kind, metadata = new { resourceVersion = "1" }, items });

    /// <summary>What the API server answers a scale patch with (the Scale object after the change).</summary>
    public static string Scale(string name, int replicas) =>
        JsonSerializer.Serialize(new { apiVersion = "autoscaling/v1", kind = "Scale", metadata = new { name, @namespace = "rl" }, spec = new { replicas } });
}
