using System.Globalization;
using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>Dashboards, rules and the autoscaler read only catalog metrics, parse, and the scaling query steers the right way.</summary>
public class MonitoringTests(RenderedChart chart) : IClassFixture<RenderedChart>
{
    private IReadOnlyList<ChartExpressions.Expression> AllExpressions() =>
        [.. ChartExpressions.Rules(), .. ChartExpressions.Dashboards(), .. ChartExpressions.ScaledObject(chart.AllOn)];

    [Fact]
    public void EveryPromQLExpressionNamesOnlyCatalogMetrics()
    {
        var expressions = AllExpressions();
        Assert.True(ChartExpressions.Dashboards().Count >= 20, "the dashboard has fewer expressions than panels need");
        Assert.Single(ChartExpressions.ScaledObject(chart.AllOn));
        var allowed = ChartExpressions.RecordingRuleNames();
        var problems = expressions
            .Select(e => (e.Source, Unknown: PromQl.UnknownNames(e.Text, allowed)))
            .Where(x => x.Unknown.Count > 0)
            .Select(x => $"{x.Source}: {string.Join(", ", x.Unknown)}").ToList();
        Assert.True(problems.Count == 0, "names outside MetricCatalog:\n" + string.Join("\n", problems));
        // And they do read metrics: no expression is metric-free.
        Assert.All(expressions, e => Assert.NotEmpty(PromQl.MetricNames(e.Text)));
    }

    [Theory]
    [InlineData("sum by (runner) (rate(rlmesh_env_frames_total{runner=~\"r.*\"}[5m]))", "rlmesh_env_frames_total")]
    [InlineData("histogram_quantile(0.9, sum by (le) (rate(rlmesh_policy_lag_versions_bucket[5m])))", "rlmesh_policy_lag_versions_bucket")]
    [InlineData("max(rlmesh_staleness_target_versions) or vector(4) > bool 1 and on() up", "rlmesh_staleness_target_versions,up")]
    [InlineData("rlmesh:policy_lag_versions:mean5m / ignoring(runner) group_left rlmesh_aps_threshold offset 5m", "rlmesh:policy_lag_versions:mean5m,rlmesh_aps_threshold")]
    public void MetricNameExtractionStripsFunctionsKeywordsAndMatchers(string expression, string expected)
    {
        Assert.Equal(expected.Split(',').Order(), PromQl.MetricNames(expression).Order());
    }

    [Fact]
    public void TheCatalogCheckCatchesAnUnknownMetric()
    {
        var unknown = PromQl.UnknownNames("rate(rlmesh_env_frames_total[1m]) / rate(rlmesh_made_up_total[1m]) + rlmesh_env_frames_total_sum", new HashSet<string>());
        Assert.Equal(new[] { "rlmesh_made_up_total", "rlmesh_env_frames_total_sum" }, unknown); // _sum only for histograms
    }

    [Fact]
    public void RulesFilePassesPromtoolCheckRules()
    {
        var result = Tools.Run(Tools.Promtool, ["check", "rules", ChartExpressions.RulesFile]);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("SUCCESS", result.Output);
    }

    [Fact]
    public void EveryDashboardAndAutoscalerExpressionParses()
    {
        // promtool parses each expression as a recording rule; a syntax error fails the check with its position.
        var expressions = ChartExpressions.Dashboards().Concat(ChartExpressions.ScaledObject(chart.AllOn)).ToList();
        var file = Path.Combine(Path.GetTempPath(), $"rlmesh-exprs-{Guid.NewGuid():N}.yaml");
        try
        {
            var lines = new List<string> { "groups:", "  - name: parse-check", "    rules:" };
            for (int i = 0; i < expressions.Count; i++)
            {
                lines.Add($"      - record: parse_check_{i}");
                lines.Add($"        expr: '{expressions[i].Text.Replace("'", "''")}'");
            }
            File.WriteAllLines(file, lines);
            var result = Tools.Run(Tools.Promtool, ["check", "rules", file]);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains($"SUCCESS: {expressions.Count} rules found", result.Output);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void PrometheusRuleEmbedsTheRulesFileGroups()
    {
        var rule = chart.AllOn.Single(m => m.Kind == "PrometheusRule");
        var groups = rule.List("spec.groups").Cast<Dictionary<object, object>>().Select(g => (string)g["name"]).ToList();
        var fileDoc = Manifests.Parse<Dictionary<object, object>>(File.ReadAllText(ChartExpressions.RulesFile))!;
        Assert.Equal(((List<object>)fileDoc["groups"]).Cast<Dictionary<object, object>>().Select(g => (string)g["name"]), groups);
    }

    /// <summary>
    /// The autoscaling query evaluated by promtool on synthetic series: 4 runners connected, target 4 versions.
    /// desiredReplicas = ceil(value / 1) under KEDA's AverageValue.
    /// </summary>
    [Theory]
    [InlineData(2.0, 0.5, 8.0)]   // lag 2 < target 4, learner half idle: double (headroom 2, capped at maxStepUp 2)
    [InlineData(3.2, 0.5, 5.0)]   // headroom 1.25: 4 -> 5 runners
    [InlineData(8.0, 0.5, 2.0)]   // lag twice the target: halve the runners
    [InlineData(8.0, 1.0, 2.0)]   // lag above target shrinks even when the learner is saturated
    [InlineData(2.0, 0.95, 4.0)]  // lag under target but learner saturated: more runners would only add lag; hold
    [InlineData(0.0, 0.0, 8.0)]   // nothing trained yet (lag unmeasured) and the learner idle: grow by the max step
    public void AutoscalingQueryMovesRunnersTowardTheStalenessTarget(double meanLag, double learnerBusy, double expectedDesired)
    {
        string query = ChartExpressions.ScaledObject(chart.AllOn).Single().Text;
        var dir = Directory.CreateTempSubdirectory("rlmesh-autoscale-");
        try
        {
            string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            File.WriteAllText(Path.Combine(dir.FullName, "rules.yaml"),
                $"groups:\n  - name: autoscaling\n    rules:\n      - record: desired_runners\n        expr: '{query.Replace("'", "''")}'\n");
            // Counters grow per minute: lag sum by meanLag per trained unroll (1 unroll/s), update seconds by learnerBusy per second.
            File.WriteAllText(Path.Combine(dir.FullName, "test.yaml"), $"""
                rule_files: [rules.yaml]
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: rlmesh_runners_connected
                        values: '4x10'
                      - series: rlmesh_staleness_target_versions
                        values: '4x10'
                      - series: rlmesh_policy_lag_versions_sum
                        values: '0+{F(60 * meanLag)}x10'
                      - series: rlmesh_policy_lag_versions_count
                        values: '0+{(meanLag == 0 ? "0" : "60")}x10'
                      - series: rlmesh_learner_update_duration_seconds_sum
                        values: '0+{F(60 * learnerBusy)}x10'
                    promql_expr_test:
                      - expr: desired_runners
                        eval_time: 6m
                        exp_samples:
                          - labels: 'desired_runners'
                            value: {F(expectedDesired)}
                """);
            var result = Tools.Run(Tools.Promtool, ["test", "rules", "test.yaml"], workingDirectory: dir.FullName);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains("SUCCESS", result.Output);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void AutoscalingQueryIsEmptyWithoutRunnerMetricsSoKedaFallsBack()
    {
        // No parameter-server metrics at all: the query returns nothing; with ignoreNullValues=false KEDA
        // counts that as a failure and holds fallback.replicas instead of scaling to the minimum.
        string query = ChartExpressions.ScaledObject(chart.AllOn).Single().Text;
        var dir = Directory.CreateTempSubdirectory("rlmesh-autoscale-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "rules.yaml"),
                $"groups:\n  - name: autoscaling\n    rules:\n      - record: desired_runners\n        expr: '{query.Replace("'", "''")}'\n");
            File.WriteAllText(Path.Combine(dir.FullName, "test.yaml"), """
                rule_files: [rules.yaml]
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: rlmesh_learner_update_duration_seconds_sum
                        values: '0+30x10'
                    promql_expr_test:
                      - expr: desired_runners
                        eval_time: 6m
                        exp_samples: []
                """);
            var result = Tools.Run(Tools.Promtool, ["test", "rules", "test.yaml"], workingDirectory: dir.FullName);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains("fallback", chart.AllOn.Single(m => m.Kind == "ScaledObject").Map("spec")!.Keys.Cast<string>());
        }
        finally { dir.Delete(recursive: true); }
    }
}
