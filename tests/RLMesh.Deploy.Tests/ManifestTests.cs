using System.Text;
using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>Properties every rendered manifest must have, over default, all-on and external-endpoint values.</summary>
public class ManifestTests(RenderedChart chart) : IClassFixture<RenderedChart>
{
    private static readonly string[] Roles = ["env-runner", "replay", "learner", "parameter-server"];

    [Fact]
    public void EveryContainerHasResourcesProbesAndARestrictiveSecurityContext()
    {
        int checkedContainers = 0;
        foreach (var (set, manifests) in chart.All)
        {
            foreach (var (owner, c) in Manifests.Containers(manifests))
            {
                string where = $"{set}: {owner} container {c["name"]}";
                Assert.True(Manifest.Walk(c, "resources.requests") is Dictionary<object, object> { Count: > 0 }, $"{where} has no resource requests");
                Assert.True(Manifest.Walk(c, "resources.limits") is Dictionary<object, object> { Count: > 0 }, $"{where} has no resource limits");
                Assert.True(c.ContainsKey("livenessProbe"), $"{where} has no liveness probe");
                Assert.True(c.ContainsKey("readinessProbe"), $"{where} has no readiness probe");
                Assert.Equal("false", Manifest.Walk(c, "securityContext.allowPrivilegeEscalation"));
                Assert.Equal("true", Manifest.Walk(c, "securityContext.readOnlyRootFilesystem"));
                Assert.Equal("true", Manifest.Walk(c, "securityContext.runAsNonRoot"));
                Assert.Contains("ALL", (Manifest.Walk(c, "securityContext.capabilities.drop") as List<object>) ?? []);
                Assert.Equal("RuntimeDefault", Manifest.Walk(c, "securityContext.seccompProfile.type"));
                Assert.Equal("true", owner.Str("spec.template.spec.securityContext.runAsNonRoot"));
                checkedContainers++;
            }
        }
        Assert.Equal(4 * 3 + 2 * 2, checkedContainers); // 4 services x 3 value sets + bundled RabbitMQ and Redis in 2 of them
    }

    [Fact]
    public void RLMeshContainersProbeHealthzAndReadyzOnTheNamedHttpPort()
    {
        foreach (var (owner, c) in Manifests.Containers(chart.AllOn).Where(x => x.Owner.Kind == "Deployment"))
        {
            Assert.Equal("/healthz", Manifest.Walk(c, "livenessProbe.httpGet.path"));
            Assert.Equal("/readyz", Manifest.Walk(c, "readinessProbe.httpGet.path"));
            Assert.Equal("http", Manifest.Walk(c, "livenessProbe.httpGet.port"));
            Assert.Equal("http", Manifest.Walk(c, "readinessProbe.httpGet.port"));
            var port = Assert.Single((List<object>)c["ports"]);
            Assert.Equal("http", Manifest.Walk(port, "name"));
            Assert.Equal(new[] { "run", owner.Name["rel-rlmesh-".Length..] }, ((List<object>)c["args"]).Cast<string>());
        }
    }

    [Fact]
    public void NoImageIsLatestOrUntagged()
    {
        var images = chart.All.SelectMany(s => Manifests.Containers(s.Manifests)).Select(x => (string)x.Container["image"]).Distinct().ToList();
        Assert.Equal(4, images.Count); // rlmesh at appVersion, rlmesh at the test tag, rabbitmq, redis
        foreach (var image in images)
        {
            string last = image.Split('/').Last();
            Assert.True(last.Contains(':') || image.Contains('@'), $"{image} has no tag");
            Assert.False(last.EndsWith(":latest", StringComparison.Ordinal), $"{image} uses :latest");
        }
    }

    [Fact]
    public void CredentialsComeOnlyFromSecretsAndGeneratedSecretsAreRandom()
    {
        foreach (var (set, manifests) in chart.All)
        {
            var secretValues = manifests.Where(m => m.Kind == "Secret")
                .SelectMany(m => (m.Map("data") ?? []).Values.Cast<string>())
                .Select(v => Encoding.UTF8.GetString(Convert.FromBase64String(v))).ToList();
            foreach (var s in secretValues) Assert.True(s.Length >= 32, $"{set}: a generated secret is only {s.Length} characters");
            foreach (var m in manifests.Where(m => m.Kind == "Secret")) Assert.Null(m.Get("stringData"));

            foreach (var (owner, c) in Manifests.Containers(manifests))
            {
                foreach (var env in ((c.GetValueOrDefault("env") as List<object>) ?? []).Cast<Dictionary<object, object>>())
                {
                    string name = (string)env["name"];
                    string? value = env.GetValueOrDefault("value") as string;
                    if (name.Contains("PASSWORD") || name.Contains("PASS") || name.Contains("SECRET") || name.Contains("TOKEN"))
                    {
                        Assert.Null(value);
                        Assert.NotNull(Manifest.Walk(env, "valueFrom.secretKeyRef.name"));
                    }
                    if (value is null) continue;
                    foreach (var secret in secretValues) Assert.DoesNotContain(secret, value);
                    if (value.Contains("://") && value.Contains('@'))
                        Assert.Matches(@"://\$\([A-Z_]+\):\$\([A-Z_]+\)@", value); // credentials only by reference
                }
            }
        }
        Assert.Equal(2, chart.Defaults.Count(m => m.Kind == "Secret"));
        Assert.DoesNotContain(chart.External, m => m.Kind == "Secret"); // external endpoints use existing Secrets
    }

    [Fact]
    public void GeneratedPasswordsDifferBetweenTwoFreshInstalls()
    {
        static string Password(List<Manifest> ms) => (string)ms.Single(m => m.Kind == "Secret" && m.Name.EndsWith("-redis", StringComparison.Ordinal)).Map("data")!.Values.Single();
        var again = Manifests.Parse(Tools.HelmTemplate().StdOut);
        Assert.NotEqual(Password(chart.Defaults), Password(again));
    }

    [Fact]
    public void ValuesFileHasNoPlaintextPassword()
    {
        var values = File.ReadAllText(Path.Combine(Tools.ChartDirectory, "values.yaml"));
        Assert.DoesNotMatch(@"(?im)^\s*(password|pass|secret|token)\s*:\s*\S", values);
    }

    [Fact]
    public void EveryObjectCarriesTheStandardLabelsAndSelectorsMatchPods()
    {
        foreach (var (set, manifests) in chart.All)
        {
            foreach (var m in manifests)
            {
                var labels = m.Map("metadata.labels") ?? throw new Xunit.Sdk.XunitException($"{set}: {m} has no labels");
                Assert.Equal("rlmesh", labels.GetValueOrDefault("app.kubernetes.io/name"));
                Assert.Equal("rel", labels.GetValueOrDefault("app.kubernetes.io/instance"));
                Assert.Equal("Helm", labels.GetValueOrDefault("app.kubernetes.io/managed-by"));
                Assert.Equal("rlmesh", labels.GetValueOrDefault("app.kubernetes.io/part-of"));
                Assert.False(string.IsNullOrEmpty(labels.GetValueOrDefault("app.kubernetes.io/component") as string), $"{set}: {m} has no component");
                Assert.StartsWith("rlmesh-", (string)labels["helm.sh/chart"]);
                if (m.Kind != "ConfigMap") // dashboards may go to Grafana's namespace (tested below)
                    Assert.Equal("rl", m.Str("metadata.namespace"));
            }
            foreach (var w in manifests.Where(m => m.PodSpec is not null))
            {
                var selector = w.Map("spec.selector.matchLabels")!;
                var podLabels = w.Map("spec.template.metadata.labels")!;
                foreach (var (k, v) in selector) Assert.Equal(v, podLabels.GetValueOrDefault(k));
            }
            var podLabelSets = manifests.Where(m => m.PodSpec is not null).Select(m => m.Map("spec.template.metadata.labels")!).ToList();
            foreach (var svc in manifests.Where(m => m.Kind == "Service"))
            {
                var selector = svc.Map("spec.selector")!;
                Assert.True(podLabelSets.Count(p => selector.All(kv => Equals(p.GetValueOrDefault(kv.Key), kv.Value))) == 1, $"{set}: {svc} selects no single workload");
            }
        }
        Assert.Contains(chart.AllOn, m => Equals(m.Map("metadata.labels")?.GetValueOrDefault("team"), "rl")); // commonLabels
    }

    [Fact]
    public void RunnerReplicasAreOmittedWithAutoscalingAndZeroIsHonouredWithout()
    {
        var autoscaled = chart.AllOn.Single(m => m is { Kind: "Deployment" } && m.Name == "rel-rlmesh-env-runner");
        Assert.Null(autoscaled.Get("spec.replicas"));
        var others = chart.AllOn.Where(m => m.Kind == "Deployment" && m.Name != "rel-rlmesh-env-runner").ToList();
        Assert.All(others, d => Assert.NotNull(d.Get("spec.replicas")));

        var zero = Manifests.Parse(Tools.HelmTemplate(sets: ["runner.replicas=0", "replay.replicas=0", "learner.replicas=0"]).StdOut);
        foreach (var name in new[] { "rel-rlmesh-env-runner", "rel-rlmesh-replay", "rel-rlmesh-learner" })
            Assert.Equal("0", zero.Single(m => m.Kind == "Deployment" && m.Name == name).Str("spec.replicas"));
        Assert.Equal("1", zero.Single(m => m.Kind == "Deployment" && m.Name == "rel-rlmesh-parameter-server").Str("spec.replicas"));
    }

    [Fact]
    public void ScaledObjectTargetsTheRunnerDeploymentWithTheRunnerBounds()
    {
        var so = chart.AllOn.Single(m => m.Kind == "ScaledObject");
        Assert.Equal("rel-rlmesh-env-runner", so.Str("spec.scaleTargetRef.name"));
        Assert.Equal("2", so.Str("spec.minReplicaCount"));
        Assert.Equal("24", so.Str("spec.maxReplicaCount"));
        var trigger = Assert.Single(so.List("spec.triggers")) as Dictionary<object, object>;
        Assert.Equal("prometheus", trigger!["type"]);
        Assert.Equal("AverageValue", trigger["metricType"]);
        Assert.Equal("false", Manifest.Walk(trigger, "metadata.ignoreNullValues"));
        var deployment = chart.AllOn.Single(m => m.Kind == "Deployment" && m.Name == "rel-rlmesh-env-runner");
        Assert.Equal("keda", deployment.Map("metadata.annotations")!["rlmesh.io/autoscaling"]);
    }

    [Fact]
    public void TheHpaProviderRendersAnHpaOnTheExternalMetricInsteadOfAScaledObject()
    {
        var ms = Manifests.Parse(Tools.HelmTemplate(sets: ["autoscaling.enabled=true", "autoscaling.provider=hpa"]).StdOut);
        Assert.DoesNotContain(ms, m => m.Kind == "ScaledObject");
        var hpa = Assert.Single(ms, m => m.Kind == "HorizontalPodAutoscaler");
        Assert.Equal("rlmesh_runners_desired", Manifest.Walk(hpa.List("spec.metrics")[0], "external.metric.name"));
        var runner = ms.Single(m => m.Kind == "Deployment" && m.Name == "rel-rlmesh-env-runner");
        Assert.Null(runner.Get("spec.replicas"));
        Assert.Equal("hpa", runner.Map("metadata.annotations")!["rlmesh.io/autoscaling"]);
    }

    [Fact]
    public void ServicesGetNoKubernetesApiAccess()
    {
        foreach (var (set, manifests) in chart.All)
        {
            Assert.DoesNotContain(manifests, m => m.Kind is "Role" or "ClusterRole" or "RoleBinding" or "ClusterRoleBinding");
            Assert.Equal("false", manifests.Single(m => m.Kind == "ServiceAccount").Str("automountServiceAccountToken"));
            foreach (var w in manifests.Where(m => m.PodSpec is not null))
                Assert.True(Equals(w.PodSpec!["automountServiceAccountToken"], "false"), $"{set}: {w} mounts a token");
        }
    }

    [Fact]
    public void NetworkPoliciesLetOnlyTheRolesThatNeedABackingServerReachIt()
    {
        var policies = chart.Defaults.Where(m => m.Kind == "NetworkPolicy").ToDictionary(m => m.Name);
        foreach (var role in Roles)
            Assert.Equal(new[] { "Ingress", "Egress" }, policies[$"rel-rlmesh-{role}"].List("spec.policyTypes").Cast<string>());
        static List<string> AllowedComponents(Manifest policy) =>
            ((List<object>)Manifest.Walk(((List<object>)Manifest.Walk(policy.List("spec.ingress")[0], "from")!)[0], "podSelector.matchExpressions")!)
            .Cast<Dictionary<object, object>>().Single(e => (string)e["key"] == "app.kubernetes.io/component")["values"] is List<object> v ? v.Cast<string>().ToList() : [];
        Assert.Equal(new[] { "env-runner", "replay", "learner", "parameter-server" }, AllowedComponents(policies["rel-rlmesh-rabbitmq"]));
        Assert.Equal(new[] { "env-runner", "learner", "parameter-server" }, AllowedComponents(policies["rel-rlmesh-redis"])); // replay never talks to Redis
        var replayEgressPorts = policies["rel-rlmesh-replay"].List("spec.egress").Cast<Dictionary<object, object>>()
            .SelectMany(e => (List<object>)e["ports"]).Select(p => Manifest.Walk(p, "port")).ToList();
        Assert.DoesNotContain("6379", replayEgressPorts);
        Assert.Contains("5672", replayEgressPorts);
    }

    [Fact]
    public void RunnersHaveADisruptionBudgetByDefault()
    {
        var pdb = Assert.Single(chart.Defaults, m => m.Kind == "PodDisruptionBudget");
        Assert.Equal("env-runner", pdb.Map("spec.selector.matchLabels")!["app.kubernetes.io/component"]);
    }

    [Fact]
    public void DashboardConfigMapsCarryTheConfigurableSidecarLabel()
    {
        var cm = Assert.Single(chart.AllOn, m => m.Kind == "ConfigMap");
        Assert.Equal("1", cm.Map("metadata.labels")!["grafana_dashboard"]);
        Assert.Equal("monitoring", cm.Str("metadata.namespace"));
        Assert.Contains("rlmesh-overview.json", cm.Map("data")!.Keys.Cast<string>());

        var custom = Manifests.Parse(Tools.HelmTemplate(["values-all-on.yaml"], ["metrics.dashboards.label=my_dashboards", "metrics.dashboards.labelValue=yes"]).StdOut);
        var labels = custom.Single(m => m.Kind == "ConfigMap").Map("metadata.labels")!;
        Assert.Equal("yes", labels["my_dashboards"]);
        Assert.False(labels.ContainsKey("grafana_dashboard"));
    }

    [Fact]
    public void MonitorsCarryTheConfiguredLabelsForKubePrometheusStack()
    {
        foreach (var kind in new[] { "ServiceMonitor", "PodMonitor", "PrometheusRule" })
            Assert.Equal("kube-prometheus-stack", chart.AllOn.Single(m => m.Kind == kind).Map("metadata.labels")!["release"]);
    }
}
