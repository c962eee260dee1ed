using System.Reflection;
using RLMesh.EnvRunner;
using RLMesh.Hosting;
using RLMesh.Learner;
using RLMesh.ParameterServer;
using RLMesh.Replay;
using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>The run's algorithm, mode and Prometheus URL as chart values; central inference on Kubernetes.</summary>
public class RunModeTests
{
    private const string PrometheusUrl = "http://prometheus-operated.monitoring.svc:9090";
    private static readonly string[] CentralInference = ["run.mode=central-inference"];

    private static List<Manifest> Render(params string[] sets)
    {
        var result = Tools.HelmTemplate(sets: sets);
        Assert.True(result.ExitCode == 0, result.Output);
        return Manifests.Parse(result.StdOut);
    }

    private static Dictionary<object, object> Container(List<Manifest> manifests, string component) =>
        (Dictionary<object, object>)manifests.Single(m => m.Kind == "Deployment" && m.Name == $"rel-rlmesh-{component}").List("spec.template.spec.containers")[0];

    private static Dictionary<string, string?> Env(Dictionary<object, object> container) =>
        ((List<object>)container["env"]).Cast<Dictionary<object, object>>().ToDictionary(e => (string)e["name"], e => e.GetValueOrDefault("value") as string);

    private static List<Dictionary<object, object>> Rules(Manifest policy, string direction) =>
        policy.List($"spec.{direction}").Cast<Dictionary<object, object>>().ToList();

    private static List<string?> Ports(Dictionary<object, object> rule) =>
        ((List<object>)rule["ports"]).Select(p => Manifest.Walk(p, "port") as string).ToList();

    [Fact]
    public void AlgorithmModeAndPrometheusUrlReachEveryServiceAsTheirRlmeshVariables()
    {
        var defaults = Render();
        var set = Render("run.algorithm=vmpo", $"run.prometheusUrl={PrometheusUrl}");
        foreach (var component in new[] { "env-runner", "replay", "learner", "parameter-server" })
        {
            var before = Env(Container(defaults, component));
            Assert.Equal("impala", before["RLMESH_ALGORITHM"]);
            Assert.Equal("actors", before["RLMESH_MODE"]);
            Assert.False(before.ContainsKey("RLMESH_PROMETHEUS_URL"), $"{component}: an empty prometheusUrl is still set");
            var after = Env(Container(set, component));
            Assert.Equal("vmpo", after["RLMESH_ALGORITHM"]);
            Assert.Equal(PrometheusUrl, after["RLMESH_PROMETHEUS_URL"]);
        }
    }

    [Fact]
    public void PpoMakesReplayBatchOneUnrollPerRunnerReplica()
    {
        Assert.False(Env(Container(Render(), "replay")).ContainsKey("RLMESH_REPLAY__BATCH_UNROLLS"));
        var ppo = Render("run.algorithm=ppo", "runner.replicas=5");
        Assert.Equal("5", Env(Container(ppo, "replay"))["RLMESH_REPLAY__BATCH_UNROLLS"]);
        Assert.Equal("ppo", Env(Container(ppo, "env-runner"))["RLMESH_ALGORITHM"]);
        Assert.Equal("ppo", Env(Container(ppo, "learner"))["RLMESH_ALGORITHM"]);
    }

    [Fact]
    public void APrometheusUrlOpensTheParameterServersEgressToItsPortAndNothingElse()
    {
        static List<string?> EgressPorts(List<Manifest> ms, string component) =>
            Rules(ms.Single(m => m.Kind == "NetworkPolicy" && m.Name == $"rel-rlmesh-{component}"), "egress").SelectMany(Ports).ToList();

        Assert.DoesNotContain("9090", EgressPorts(Render(), "parameter-server"));
        var set = Render($"run.prometheusUrl={PrometheusUrl}");
        Assert.Contains("9090", EgressPorts(set, "parameter-server"));
        Assert.DoesNotContain("9090", EgressPorts(set, "learner"));
        Assert.Contains("443", EgressPorts(Render("run.prometheusUrl=https://prometheus.example"), "parameter-server"));
    }

    [Fact]
    public void CentralInferenceExposesTheLearnersInferencePortAndPointsRunnersAtIt()
    {
        var ms = Render(CentralInference);

        var learner = Container(ms, "learner");
        var ports = ((List<object>)learner["ports"]).Cast<Dictionary<object, object>>().ToDictionary(p => (string)p["name"], p => (string)p["containerPort"]);
        Assert.Equal("8090", ports["inference"]);
        Assert.Equal("8080", ports["http"]);
        Assert.Equal("http://0.0.0.0:8090", Env(learner)["RLMESH_LEARNER__INFERENCE_URL"]);

        var service = ms.Single(m => m.Kind == "Service" && m.Name == "rel-rlmesh-learner");
        var inference = service.List("spec.ports").Cast<Dictionary<object, object>>().Single(p => (string)p["name"] == "inference");
        Assert.Equal("8090", inference["port"]);
        Assert.Equal("inference", inference["targetPort"]);

        var runner = Env(Container(ms, "env-runner"));
        Assert.Equal("central-inference", runner["RLMESH_MODE"]);
        Assert.Equal("ws://rel-rlmesh-learner:8090/rlmesh/v1/inference", runner["RLMESH_RUNNER__CONNECT"]);
        // Neither runners nor the learner use the broker in this mode, and there is no replay role.
        Assert.False(runner.ContainsKey("RLMESH_BROKER"));
        Assert.False(Env(learner).ContainsKey("RLMESH_BROKER"));
        Assert.DoesNotContain(ms, m => m.Name == "rel-rlmesh-replay");

        var moved = Render([.. CentralInference, "learner.inference.port=9000"]);
        Assert.Equal("ws://rel-rlmesh-learner:9000/rlmesh/v1/inference", Env(Container(moved, "env-runner"))["RLMESH_RUNNER__CONNECT"]);

        // In actor mode the learner has no inference port and runners dial nothing.
        var actors = Render();
        Assert.Single(((List<object>)Container(actors, "learner")["ports"]));
        Assert.Single(actors.Single(m => m.Kind == "Service" && m.Name == "rel-rlmesh-learner").List("spec.ports"));
        Assert.False(Env(Container(actors, "env-runner")).ContainsKey("RLMESH_RUNNER__CONNECT"));
    }

    [Fact]
    public void InCentralInferenceOnlyRunnersMayReachTheLearnersInferencePort()
    {
        var ms = Render(CentralInference);
        var policies = ms.Where(m => m.Kind == "NetworkPolicy").ToDictionary(m => m.Name);

        var inferenceIngress = Assert.Single(Rules(policies["rel-rlmesh-learner"], "ingress"), r => Ports(r).Contains("inference"));
        var from = (Dictionary<object, object>)Manifest.Walk(Assert.Single((List<object>)inferenceIngress["from"]), "podSelector.matchLabels")!;
        Assert.Equal("env-runner", from["app.kubernetes.io/component"]);
        Assert.Equal("rel", from["app.kubernetes.io/instance"]);

        var runnerEgress = Assert.Single(Rules(policies["rel-rlmesh-env-runner"], "egress"), r => Ports(r).Contains("8090"));
        var to = Assert.Single((List<object>)runnerEgress["to"]);
        Assert.Equal("learner", ((Dictionary<object, object>)Manifest.Walk(to, "podSelector.matchLabels")!)["app.kubernetes.io/component"]);
        Assert.DoesNotContain("5672", Rules(policies["rel-rlmesh-env-runner"], "egress").SelectMany(Ports));

        // No other role gets the inference port, and actor mode opens it for nobody.
        foreach (var policy in policies.Where(p => p.Key != "rel-rlmesh-learner").Select(p => p.Value))
            Assert.DoesNotContain("inference", Rules(policy, "ingress").SelectMany(Ports));
        var actors = Render().Where(m => m.Kind == "NetworkPolicy").ToList();
        Assert.DoesNotContain("inference", actors.SelectMany(p => Rules(p, "ingress")).SelectMany(Ports));
        Assert.DoesNotContain("8090", actors.SelectMany(p => Rules(p, "egress")).SelectMany(Ports));
    }

    [Fact]
    public void CentralInferenceLintsCleanWithEveryFeatureOn()
    {
        var result = Tools.Run(Tools.Helm, ["lint", "--strict", Tools.ChartDirectory, "-f", Path.Combine(Tools.TestDirectory, "values-all-on.yaml"), "--set", CentralInference[0]]);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("0 chart(s) failed", result.Output);
    }

    [Fact]
    public void EveryRlmeshVariableTheChartSetsIsAConfigurationKeyAServiceReads()
    {
        // The informational ones (docs: charts/rlmesh/README.md, "Environment contract") are read by no service.
        string[] informational = ["RLMESH_ROLE", "RLMESH_POD_NAME", "RLMESH_BROKER_USERNAME", "RLMESH_BROKER_PASSWORD"];
        var sections = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
        {
            [""] = typeof(ClusterOptions),
            [EnvRunnerOptions.Section] = typeof(EnvRunnerOptions),
            [LearnerOptions.Section] = typeof(LearnerOptions),
            [ReplayOptions.Section] = typeof(ReplayOptions),
            [ParameterServerOptions.Section] = typeof(ParameterServerOptions),
        };
        var names = new[] { Render(), Render([.. CentralInference, $"run.prometheusUrl={PrometheusUrl}"]) }
            .SelectMany(ms => Manifests.Containers(ms).Where(c => c.Owner.Kind == "Deployment"))
            .SelectMany(c => Env(c.Container).Keys)
            .Where(n => n.StartsWith(ServiceDefaults.EnvironmentPrefix, StringComparison.Ordinal) && !informational.Contains(n))
            .ToHashSet();
        foreach (var expected in new[] { "RLMESH_ALGORITHM", "RLMESH_MODE", "RLMESH_PROMETHEUS_URL", "RLMESH_RUNNER__CONNECT", "RLMESH_LEARNER__INFERENCE_URL" })
            Assert.Contains(expected, names);
        foreach (var name in names)
        {
            var key = ServiceDefaults.EnvironmentKey(name)!.Split(':');
            var (section, property) = key.Length == 1 ? ("", key[0]) : (key[0], key[1]);
            Assert.True(sections.TryGetValue(section, out var options), $"{name}: no options section '{section}'");
            Assert.True(options.GetProperty(property, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is { CanWrite: true },
                $"{name} sets {string.Join(':', key)}, which {options.Name} does not have");
        }
    }
}
