using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>The real helm: lint --strict, template, and the schema's refusals.</summary>
public class ChartTests
{
    [Theory]
    [InlineData("")]
    [InlineData("values-all-on.yaml")]
    [InlineData("values-external.yaml")]
    public void HelmLintStrictPasses(string valuesFile)
    {
        var args = new List<string> { "lint", "--strict", Tools.ChartDirectory };
        if (valuesFile.Length > 0) { args.Add("-f"); args.Add(Path.Combine(Tools.TestDirectory, valuesFile)); }
        var result = Tools.Run(Tools.Helm, args);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("0 chart(s) failed", result.Output);
    }

    [Fact]
    public void DefaultValuesRenderTheFourServicesWithBundledServersAndNoOptionalFeatures()
    {
        var result = Tools.HelmTemplate();
        Assert.True(result.ExitCode == 0, result.Output);
        var kinds = Manifests.Parse(result.StdOut).GroupBy(m => m.Kind).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(4, kinds["Deployment"]);
        Assert.Equal(2, kinds["StatefulSet"]);
        Assert.Equal(2, kinds["Secret"]);
        Assert.Equal(6, kinds["NetworkPolicy"]);
        foreach (var optional in new[] { "ScaledObject", "ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap" })
            Assert.False(kinds.ContainsKey(optional), $"{optional} rendered with default values");
    }

    [Fact]
    public void EveryFeatureSwitchedOnRendersEveryKind()
    {
        var result = Tools.HelmTemplate(["values-all-on.yaml"]);
        Assert.True(result.ExitCode == 0, result.Output);
        var kinds = Manifests.Parse(result.StdOut).Select(m => m.Kind).ToHashSet();
        foreach (var kind in new[] { "Deployment", "StatefulSet", "Service", "Secret", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget",
                     "PersistentVolumeClaim", "ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap", "ScaledObject" })
            Assert.Contains(kind, kinds);
    }

    [Theory]
    [InlineData("runner.replicas=-1", "/runner/replicas", "minimum")]
    [InlineData("run.sync=sometimes", "/run/sync", "every-unroll")]
    [InlineData("learner.replicas=2", "/learner/replicas", "maximum")]
    [InlineData("parameterServer.replicas=3", "/parameterServer/replicas", "maximum")]
    [InlineData("run.apsTau=0", "/run/apsTau", "exclusiveMinimum")]
    [InlineData("runner.replicass=2", "/runner", "replicass")]
    [InlineData("autoscaling.prometheusAddress=prometheus:9090", "/autoscaling/prometheusAddress", "https?")]
    [InlineData("httpPort=70000", "/httpPort", "maximum")]
    [InlineData("run.algorithm=dqn", "/run/algorithm", "impala")]
    [InlineData("run.mode=seed", "/run/mode", "central-inference")]
    [InlineData("run.prometheusUrl=prometheus:9090", "/run/prometheusUrl", "https?")]
    [InlineData("learner.inference.port=0", "/learner/inference/port", "minimum")]
    public void SchemaRejectsBadValuesNamingTheValue(string set, string path, string reason)
    {
        var result = Tools.HelmTemplate(sets: [set]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(path, result.StdErr);
        Assert.Contains(reason, result.StdErr);
    }

    [Theory]
    [InlineData("image.tag=latest", "image.tag must not be 'latest'")]
    [InlineData("redis.image.tag=latest", "redis.image.tag must not be 'latest'")]
    [InlineData("rabbitmq.enabled=false,externalRabbitmq.existingSecret=mq", "externalRabbitmq.host is required")]
    [InlineData("redis.enabled=false,externalRedis.host=r.example", "externalRedis.existingSecret is required")]
    [InlineData("autoscaling.enabled=true,runner.minReplicas=0", "runner.minReplicas must be at least 1")]
    [InlineData("autoscaling.enabled=true,runner.minReplicas=9,runner.maxReplicas=4", "must not exceed runner.maxReplicas")]
    [InlineData("run.mode=central-inference,learner.inference.port=8080", "learner.inference.port must differ from httpPort")]
    [InlineData("run.algorithm=ppo,autoscaling.enabled=true", "run.algorithm ppo batches one unroll per runner")]
    [InlineData("run.algorithm=ppo,run.mode=central-inference", "run.algorithm ppo is on-policy and needs run.mode actors")]
    [InlineData("run.algorithm=ppo,runner.replicas=0", "run.algorithm ppo needs runner.replicas of at least 1")]
    public void TemplatesRefuseUnsafeCombinationsWithAClearMessage(string set, string message)
    {
        var result = Tools.HelmTemplate(sets: [set]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.StdErr);
    }

    [Fact]
    public void ExternalBrokerWithoutAnExistingSecretIsRefused()
    {
        var result = Tools.HelmTemplate(sets: ["rabbitmq.enabled=false", "externalRabbitmq.host=mq.example"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("externalRabbitmq.existingSecret is required", result.StdErr);
    }
}
