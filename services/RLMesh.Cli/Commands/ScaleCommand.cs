using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using RLMesh.Cli.Kubernetes;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh scale runners N`: sets the env-runner count of a Helm release through the Kubernetes API. With autoscaling
/// off it patches the Deployment's scale subresource; with autoscaling on (KEDA or an HPA owns the replica count) it
/// pins the ScaledObject's (or HPA's) min/max bounds to N instead, and says so. N must be 0 (pause, autoscaling off
/// only) or within the chart's runner.minReplicas..runner.maxReplicas, which the chart records as annotations.
/// </summary>
public static class ScaleCommand
{
    public const string MinAnnotation = "rlmesh.io/min-replicas";
    public const string MaxAnnotation = "rlmesh.io/max-replicas";
    public const string AutoscalingAnnotation = "rlmesh.io/autoscaling";

    public static Command Create()
    {
        var count = new Argument<int>("N") { Description = "Runner count" };
        var flags = new KubernetesFlags();
        var runners = new Command("runners", "Set the number of env runners (moves the autoscaler's bounds when autoscaling is on)") { count };
        flags.AddTo(runners);
        runners.SetAction(async (parse, cancellationToken) =>
        {
            int n = parse.GetValue(count);
            if (n < 0) throw new UsageException($"N must be >= 0, got {n}");
            using var cluster = KubernetesCluster.Connect(flags.ConnectionOptions(parse));
            try
            {
                foreach (var line in await ScaleRunnersAsync(cluster, parse.GetValue(flags.Release)!, n, cancellationToken))
                    Console.WriteLine(line);
                return ExitCodes.Ok;
            }
            catch (KubernetesFailure ex)
            {
                Console.Error.WriteLine($"rlmesh: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return new Command("scale", "Scale a deployed RLMesh release") { runners };
    }

    /// <summary>The autoscaler that owns the runner count, and its bound fields (KEDA's and the HPA's differ).</summary>
    private sealed record Autoscaler(string Resource, string Kind, string MinField, string MaxField, string Owner);

    private static readonly Autoscaler Keda = new("scaledobjects.keda.sh", "ScaledObject", "minReplicaCount", "maxReplicaCount", "KEDA");
    private static readonly Autoscaler Hpa = new("horizontalpodautoscalers.autoscaling", "HorizontalPodAutoscaler", "minReplicas", "maxReplicas", "the HPA");

    /// <summary>Does the scaling and returns the lines to print (what changed, from what to what).</summary>
    public static async Task<IReadOnlyList<string>> ScaleRunnersAsync(KubernetesCluster cluster, string release, int n, CancellationToken cancellationToken)
    {
        string ns = cluster.Namespace;
        string selector = $"app.kubernetes.io/instance={release},app.kubernetes.io/component=env-runner";
        var deployments = await cluster.CallAsync($"list deployments in namespace {ns}",
            ct => cluster.Client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        if (deployments.Items.Count == 0)
            throw new UsageException($"no env-runner Deployment of release '{release}' was found in namespace {ns} (selector {selector}); check --release and --namespace");
        var deployment = deployments.Items[0];
        string name = deployment.Metadata.Name;
        var annotations = deployment.Metadata.Annotations ?? new Dictionary<string, string>();
        var (min, max) = Bounds(annotations, $"Deployment {name}");
        annotations.TryGetValue(AutoscalingAnnotation, out var mode);
        var autoscaler = mode switch { "keda" => Keda, "hpa" => Hpa, _ => null };

        if (autoscaler is not null)
        {
            if (n == 0)
                throw new UsageException($"autoscaling is on and {autoscaler.Owner} keeps at least 1 runner: to pause runners, turn autoscaling off (helm upgrade --set autoscaling.enabled=false --set runner.replicas=0)");
            if (n < Math.Max(min, 1) || n > max)
                throw new UsageException($"N must be within the chart's runner bounds {Math.Max(min, 1)}..{max}, got {n}");
            var scaler = autoscaler == Keda
                ? await FindScaledObjectAsync(cluster, selector, cancellationToken)
                : await FindHpaAsync(cluster, selector, cancellationToken);
            if (scaler is null)
                throw new UsageException($"Deployment {name} says autoscaling ({mode}) is on, but release '{release}' has no {autoscaler.Resource} in namespace {ns}");
            var (scalerName, oldMin, oldMax) = scaler.Value;
            var lines = new List<string> { $"autoscaling is on: {autoscaler.Owner} owns the replica count, so the bounds of {autoscaler.Kind} {scalerName} move instead of the Deployment's replicas" };
            if (oldMin == n && oldMax == n)
            {
                lines.Add($"{autoscaler.MinField} and {autoscaler.MaxField} are already {n}: nothing changed");
                return lines;
            }
            var patch = new V1Patch(new Dictionary<string, object> { ["spec"] = new Dictionary<string, int> { [autoscaler.MinField] = n, [autoscaler.MaxField] = n } }, V1Patch.PatchType.MergePatch);
            string what = $"patch {autoscaler.Resource} {scalerName} in namespace {ns}";
            if (autoscaler == Keda)
                await cluster.CallAsync(what, ct => cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, "keda.sh", "v1alpha1", ns, "scaledobjects", scalerName, cancellationToken: ct), cancellationToken);
            else
                await cluster.CallAsync(what, ct => cluster.Client.AutoscalingV2.PatchNamespacedHorizontalPodAutoscalerAsync(patch, scalerName, ns, cancellationToken: ct), cancellationToken);
            lines.Add(Invariant($"{autoscaler.MinField}: {oldMin} -> {n}"));
            lines.Add(Invariant($"{autoscaler.MaxField}: {oldMax} -> {n}"));
            lines.Add(Invariant($"{autoscaler.Owner} now holds {n} runners; the next helm upgrade restores the chart's bounds {min}..{max}"));
            return lines;
        }

        if (n != 0 && (n < min || n > max))
            throw new UsageException($"N must be 0 (pause) or within the chart's runner bounds {min}..{max}, got {n}");
        int current = deployment.Spec?.Replicas ?? 1;
        if (current == n)
            return [Invariant($"Deployment {name} already has {n} replicas: nothing changed")];
        var scale = new V1Patch(new Dictionary<string, object> { ["spec"] = new Dictionary<string, int> { ["replicas"] = n } }, V1Patch.PatchType.MergePatch);
        await cluster.CallAsync($"scale Deployment {name} in namespace {ns}",
            ct => cluster.Client.AppsV1.PatchNamespacedDeploymentScaleAsync(scale, name, ns, cancellationToken: ct), cancellationToken);
        return [Invariant($"Deployment {name} replicas: {current} -> {n}")];
    }

    /// <summary>KEDA's ScaledObject is a custom resource: the client hands it over as JSON.</summary>
    private static async Task<(string Name, int Min, int Max)?> FindScaledObjectAsync(KubernetesCluster cluster, string selector, CancellationToken cancellationToken)
    {
        string ns = cluster.Namespace;
        var list = await cluster.CallAsync($"list scaledobjects.keda.sh in namespace {ns} (is KEDA installed?)",
            ct => cluster.Client.CustomObjects.ListNamespacedCustomObjectAsync("keda.sh", "v1alpha1", ns, "scaledobjects", labelSelector: selector, cancellationToken: ct), cancellationToken);
        var json = list is JsonElement element ? element : JsonSerializer.SerializeToElement(list);
        if (!json.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            throw new KubernetesFailure($"the list of scaledobjects.keda.sh in namespace {ns} has no items array");
        foreach (var item in items.EnumerateArray())
        {
            string? name = item.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("name", out var n) ? n.GetString() : null;
            if (name is null) continue;
            var spec = item.TryGetProperty("spec", out var s) ? s : default;
            // Only shown as the "from" value; the chart always sets both bounds.
            int min = spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty(Keda.MinField, out var m1) ? m1.GetInt32() : 1;
            int max = spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty(Keda.MaxField, out var m2) ? m2.GetInt32() : 100;
            return (name, min, max);
        }
        return null;
    }

    private static async Task<(string Name, int Min, int Max)?> FindHpaAsync(KubernetesCluster cluster, string selector, CancellationToken cancellationToken)
    {
        string ns = cluster.Namespace;
        var list = await cluster.CallAsync($"list horizontalpodautoscalers.autoscaling in namespace {ns}",
            ct => cluster.Client.AutoscalingV2.ListNamespacedHorizontalPodAutoscalerAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken);
        if (list.Items.Count == 0)
            return null;
        var hpa = list.Items[0];
        return (hpa.Metadata.Name, hpa.Spec.MinReplicas ?? 1, hpa.Spec.MaxReplicas);
    }

    private static (int Min, int Max) Bounds(IDictionary<string, string> annotations, string what)
    {
        static int? Read(IDictionary<string, string> a, string key) =>
            a.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;
        var min = Read(annotations, MinAnnotation);
        var max = Read(annotations, MaxAnnotation);
        if (min is null || max is null)
            throw new KubernetesFailure($"{what} lacks the {MinAnnotation}/{MaxAnnotation} annotations the rlmesh chart sets; was it installed by the chart?");
        return (min.Value, max.Value);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
