using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using RLMesh.Cli.Commands;

namespace RLMesh.Cli.Kubernetes;

/// <summary>One role of a release as the API server sees it: its Deployment's desired replicas and the pods behind it.</summary>
public sealed record RoleStatus(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("deployment")] string Deployment,
    [property: JsonPropertyName("replicas")] int Replicas,
    [property: JsonPropertyName("pods")] int Pods,
    [property: JsonPropertyName("ready_pods")] int ReadyPods,
    [property: JsonPropertyName("autoscaling")] string? Autoscaling);

/// <summary>`rlmesh status --kubernetes`: every Deployment of a Helm release, its replicas and its ready pods.</summary>
public static class KubernetesStatus
{
    private const string ComponentLabel = "app.kubernetes.io/component";

    public static async Task<int> RunAsync(KubernetesConnectionOptions options, string release, bool json, CancellationToken cancellationToken)
    {
        using var cluster = KubernetesCluster.Connect(options);
        IReadOnlyList<RoleStatus> roles;
        try
        {
            roles = await ReadAsync(cluster, release, cancellationToken);
        }
        catch (KubernetesFailure ex)
        {
            Console.Error.WriteLine($"rlmesh: {ex.Message}");
            return ExitCodes.Failure;
        }
        if (roles.Count == 0)
            throw new UsageException($"release '{release}' has no Deployments in namespace {cluster.Namespace} (selector app.kubernetes.io/instance={release}); check --release and --namespace");
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(roles));
        else
            foreach (var line in Render(release, cluster.Namespace, cluster.Source, roles))
                Console.WriteLine(line);
        return ExitCodes.Ok;
    }

    /// <summary>Two list calls (Deployments, pods) with the release's instance label; pods are matched to Deployments by their selector.</summary>
    public static async Task<IReadOnlyList<RoleStatus>> ReadAsync(KubernetesCluster cluster, string release, CancellationToken cancellationToken)
    {
        string ns = cluster.Namespace;
        string selector = $"app.kubernetes.io/instance={release}";
        var deployments = await cluster.CallAsync($"list deployments in namespace {ns}",
            ct => cluster.Client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        if (deployments.Items.Count == 0)
            return [];
        var pods = await cluster.CallAsync($"list pods in namespace {ns}",
            ct => cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        // Finished pods (a completed Job's, an evicted one) are not part of a running role.
        var live = pods.Items.Where(p => p.Status?.Phase is not ("Succeeded" or "Failed") && p.Metadata.DeletionTimestamp is null).ToList();
        var roles = new List<RoleStatus>();
        foreach (var deployment in deployments.Items)
        {
            var matchLabels = deployment.Spec?.Selector?.MatchLabels ?? new Dictionary<string, string>();
            var own = live.Where(p => matchLabels.All(l => p.Metadata.Labels is { } labels && labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
            string role = deployment.Metadata.Labels is { } labels && labels.TryGetValue(ComponentLabel, out var component) ? component : deployment.Metadata.Name;
            string? autoscaling = deployment.Metadata.Annotations is { } annotations
                && annotations.TryGetValue(ScaleCommand.AutoscalingAnnotation, out var mode) && mode is "keda" or "hpa" ? mode : null;
            roles.Add(new RoleStatus(role, deployment.Metadata.Name, deployment.Spec?.Replicas ?? 1, own.Count, own.Count(IsReady), autoscaling));
        }
        return roles.OrderBy(r => r.Role, StringComparer.Ordinal).ToList();
    }

    private static bool IsReady(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") ?? false;

    public static IEnumerable<string> Render(string release, string @namespace, string source, IReadOnlyList<RoleStatus> roles)
    {
        var c = CultureInfo.InvariantCulture;
        yield return $"release {release} in namespace {@namespace}, from {source}";
        yield return $"{"ROLE",-18} {"DEPLOYMENT",-36} {"REPLICAS",8} {"READY PODS",10}";
        foreach (var r in roles)
            yield return string.Create(c, $"{r.Role,-18} {r.Deployment,-36} {r.Replicas,8} {$"{r.ReadyPods}/{r.Pods}",10}")
                + (r.Autoscaling is { } a ? $"  (autoscaling: {a})" : "");
    }
}
