using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RLMesh.Cli.Kubernetes;
using RLMesh.Telemetry.Status;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh status`: reads the parameter server's GET /status (local, or through
/// `kubectl port-forward svc/&lt;release&gt;-rlmesh-parameter-server 8080:http`) and prints versions, frames/s,
/// staleness, and the runners with their health. `rlmesh status --kubernetes` asks the Kubernetes API instead: each
/// role's Deployment, its replicas and its ready pods (<see cref="KubernetesStatus"/>).
/// </summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "Parameter server base URL", DefaultValueFactory = _ => "http://localhost:8080" };
        var json = new Option<bool>("--json") { Description = "Print the status JSON as received" };
        var kubernetes = new Option<bool>("--kubernetes") { Description = "Show each role's Deployment replicas and ready pods from the Kubernetes API instead (--release, --namespace, --context, --kubeconfig)" };
        var flags = new KubernetesFlags();
        var command = new Command("status", "Show a run's versions, frames/s, staleness and runner health from the parameter server") { url, json, kubernetes };
        flags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(kubernetes))
                return await KubernetesStatus.RunAsync(flags.ConnectionOptions(parse), parse.GetValue(flags.Release)!, parse.GetValue(json), cancellationToken);
            foreach (var option in new Option[] { flags.Release, flags.Namespace, flags.Kubeconfig, flags.Context })
                if (parse.GetResult(option) is { Implicit: false })
                    throw new UsageException($"{option.Name} applies to `rlmesh status --kubernetes` only");
            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var baseUri) || (baseUri.Scheme != "http" && baseUri.Scheme != "https"))
                throw new UsageException($"--url must be an absolute http(s) URL, got '{parse.GetValue(url)}'");
            var endpoint = new Uri(baseUri, "/status");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string body;
            try
            {
                using var response = await http.GetAsync(endpoint, cancellationToken);
                body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    Console.Error.WriteLine($"rlmesh: {endpoint} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                    return ExitCodes.Failure;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine($"rlmesh: cannot reach the parameter server at {endpoint}: {ex.Message}");
                Console.Error.WriteLine("rlmesh: on a cluster, port-forward it first: kubectl port-forward svc/<release>-rlmesh-parameter-server 8080:http");
                return ExitCodes.Failure;
            }
            if (parse.GetValue(json))
            {
                Console.WriteLine(body);
                return ExitCodes.Ok;
            }
            RunStatus? status;
            try { status = JsonSerializer.Deserialize<RunStatus>(body, RunStatus.JsonOptions); }
            catch (JsonException ex)
            {
                Console.Error.WriteLine($"rlmesh: {endpoint} did not return status JSON: {ex.Message}");
                return ExitCodes.Failure;
            }
            if (status is null || status.Runners is null || status.Staleness is null)
            {
                Console.Error.WriteLine($"rlmesh: {endpoint} returned incomplete status JSON (runners and staleness are required)");
                return ExitCodes.Failure;
            }
            foreach (var line in Render(status, endpoint)) Console.WriteLine(line);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static IEnumerable<string> Render(RunStatus s, Uri source)
    {
        var c = CultureInfo.InvariantCulture;
        int healthy = s.Runners.Count(r => r.Healthy);
        yield return $"status of {source}";
        yield return string.Create(c, $"latest version   {s.LatestVersion}");
        yield return s.Learner is { } l
            ? string.Create(c, $"learner          version {l.Version}, {l.Updates} updates, {l.State}")
            : "learner          not reporting yet";
        yield return string.Create(c, $"frames/s         {s.FramesPerSecond:N0}");
        yield return string.Create(c, $"staleness        mean lag {s.Staleness.MeanLag:F2} versions, divergence {s.Staleness.Divergence:G4} nats")
            + (s.Staleness.ApsThreshold is double tau ? string.Create(c, $", APS tau {tau:G4}") : "")
            + (s.Staleness.Target is double target ? string.Create(c, $", target {target:G4}") : "");
        yield return string.Create(c, $"runners          {s.Runners.Count} ({healthy} healthy, {s.Runners.Count - healthy} unhealthy)");
        foreach (var r in s.Runners.OrderBy(r => r.Id, StringComparer.Ordinal))
            yield return string.Create(c, $"  {r.Id,-24} version {r.Version,8}  lag {r.Lag,4}  last seen {r.LastSeenSeconds,7:F1} s  {(r.Healthy ? "healthy" : "UNHEALTHY")}");
    }
}
