using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RLMesh.Cli.Kubernetes;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh scale runners N`: sets the env-runner count of a Helm release through kubectl. With autoscaling off
/// it scales the Deployment; with autoscaling on (KEDA or an HPA owns the replica count) it pins the
/// ScaledObject's (or HPA's) min/max bounds to N instead, and says so. N must be 0 (pause, autoscaling off only) or within the chart's
/// runner.minReplicas..runner.maxReplicas, which the chart records as annotations.
/// </summary>
public static class ScaleCommand
{
    public const string MinAnnotation = "rlmesh.io/min-replicas";
    public const string MaxAnnotation = "rlmesh.io/max-replicas";
    public const string AutoscalingAnnotation = "rlmesh.io/autoscaling";

    public static Command Create()
    {
        var count = new Argument<int>("N") { Description = "Runner count" };
        var release = new Option<string>("--release", "-r") { Description = "Helm release name", DefaultValueFactory = _ => "rlmesh" };
        var ns = new Option<string?>("--namespace", "-n") { Description = "Namespace (default: kubectl's current context)" };
        var kubectl = new Option<string?>("--kubectl") { Description = $"Path to kubectl (default: ${Kubectl.EnvironmentVariable}, then PATH)" };
        var runners = new Command("runners", "Set the number of env runners (moves the autoscaler's bounds when autoscaling is on)") { count, release, ns, kubectl };
        runners.SetAction(parse =>
        {
            int n = parse.GetValue(count);
            if (n < 0) throw new UsageException($"N must be >= 0, got {n}");
            var cluster = Kubectl.Locate(parse.GetValue(kubectl), parse.GetValue(ns));
            try
            {
                foreach (var line in ScaleRunners(cluster, parse.GetValue(release)!, n))
                    Console.WriteLine(line);
                return ExitCodes.Ok;
            }
            catch (KubectlException ex)
            {
                Console.Error.WriteLine($"rlmesh: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return new Command("scale", "Scale a deployed RLMesh release") { runners };
    }

    /// <summary>Does the scaling and returns the lines to print (what changed, from what to what).</summary>
    public static IReadOnlyList<string> ScaleRunners(Kubectl cluster, string release, int n)
    {
        string selector = $"app.kubernetes.io/instance={release},app.kubernetes.io/component=env-runner";
        var deployments = cluster.List("deployments", selector);
        if (deployments.Count == 0)
            throw new UsageException($"no env-runner Deployment of release '{release}' was found (selector {selector}); check --release and --namespace");
        var deployment = deployments[0];
        string name = deployment.GetProperty("metadata").GetProperty("name").GetString()!;
        var annotations = Annotations(deployment);
        var (min, max) = Bounds(annotations, $"Deployment {name}");
        annotations.TryGetValue(AutoscalingAnnotation, out var mode);
        // KEDA's ScaledObject or a plain HPA own the replica count; their bound fields differ.
        var (kind, minField, maxField, owner) = mode switch
        {
            "keda" => ("scaledobjects.keda.sh", "minReplicaCount", "maxReplicaCount", "KEDA"),
            "hpa" => ("horizontalpodautoscalers.autoscaling", "minReplicas", "maxReplicas", "the HPA"),
            _ => ("", "", "", ""),
        };
        bool autoscaled = kind.Length > 0;

        if (autoscaled)
        {
            if (n == 0)
                throw new UsageException($"autoscaling is on and {owner} keeps at least 1 runner: to pause runners, turn autoscaling off (helm upgrade --set autoscaling.enabled=false --set runner.replicas=0)");
            if (n < Math.Max(min, 1) || n > max)
                throw new UsageException($"N must be within the chart's runner bounds {Math.Max(min, 1)}..{max}, got {n}");
            var scalers = cluster.List(kind, selector);
            if (scalers.Count == 0)
                throw new UsageException($"Deployment {name} says autoscaling ({mode}) is on, but release '{release}' has no {kind}");
            var scaler = scalers[0];
            string scalerName = scaler.GetProperty("metadata").GetProperty("name").GetString()!;
            string scalerKind = scaler.TryGetProperty("kind", out var k) ? k.GetString()! : kind;
            var spec = scaler.GetProperty("spec");
            int oldMin = spec.TryGetProperty(minField, out var m1) ? m1.GetInt32() : 1;
            int oldMax = spec.TryGetProperty(maxField, out var m2) ? m2.GetInt32() : 100;
            var lines = new List<string> { $"autoscaling is on: {owner} owns the replica count, so the bounds of {scalerKind} {scalerName} move instead of the Deployment's replicas" };
            if (oldMin == n && oldMax == n)
            {
                lines.Add($"{minField} and {maxField} are already {n}: nothing changed");
                return lines;
            }
            string patch = JsonSerializer.Serialize(new Dictionary<string, object> { ["spec"] = new Dictionary<string, int> { [minField] = n, [maxField] = n } });
            cluster.Run("patch", kind, scalerName, "--type", "merge", "-p", patch);
            lines.Add(Invariant($"{minField}: {oldMin} -> {n}"));
            lines.Add(Invariant($"{maxField}: {oldMax} -> {n}"));
            lines.Add(Invariant($"{owner} now holds {n} runners; the next helm upgrade restores the chart's bounds {min}..{max}"));
            return lines;
        }

        if (n != 0 && (n < min || n > max))
            throw new UsageException($"N must be 0 (pause) or within the chart's runner bounds {min}..{max}, got {n}");
        int current = deployment.GetProperty("spec").TryGetProperty("replicas", out var r) ? r.GetInt32() : 1;
        if (current == n)
            return [Invariant($"Deployment {name} already has {n} replicas: nothing changed")];
        cluster.Run("scale", $"deployment/{name}", $"--replicas={n}");
        return [Invariant($"Deployment {name} replicas: {current} -> {n}")];
    }

    private static Dictionary<string, string> Annotations(JsonElement item)
    {
        var result = new Dictionary<string, string>();
        if (item.GetProperty("metadata").TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object)
            foreach (var p in a.EnumerateObject())
                result[p.Name] = p.Value.GetString() ?? "";
        return result;
    }

    private static (int Min, int Max) Bounds(Dictionary<string, string> annotations, string what)
    {
        static int? Read(Dictionary<string, string> a, string key) =>
            a.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;
        var min = Read(annotations, MinAnnotation);
        var max = Read(annotations, MaxAnnotation);
        if (min is null || max is null)
            throw new KubectlException($"{what} lacks the {MinAnnotation}/{MaxAnnotation} annotations the rlmesh chart sets; was it installed by the chart?");
        return (min.Value, max.Value);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
