using Xunit;
using RLMesh.Telemetry;

namespace RLMesh.Cli.Tests.Docs;

/// <summary>The repository's documents against the real command tree, the file system and the metric catalog.</summary>
public sealed class DocsTests
{
    // The external metric the chart's HPA reads from prometheus-adapter: a query result, exported by no role.
    internal static readonly IReadOnlySet<string> NonCatalogMetricNames = new HashSet<string> { "rlmesh_runners_desired" };

    private static readonly string Root = DocsChecker.RepositoryRoot();
    private static readonly IReadOnlyList<MarkdownDoc> Documents = DocsChecker.LoadRepositoryDocs(Root);

    [Fact]
    public void EveryRlmeshCommandShownInTheDocsParsesWithTheRealCli()
    {
        var shown = Documents.SelectMany(DocsChecker.ShownCommands).ToList();
        Assert.True(shown.Count >= 10, $"expected the docs to show rlmesh commands, found {shown.Count}");
        var problems = DocsChecker.CheckCommands(Documents, RootCommandFactory.Create()).ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void EveryRelativeLinkAndAnchorInTheDocsResolves()
    {
        var problems = DocsChecker.CheckLinks(Documents, p => File.Exists(Path.Combine(Root, p)) || Directory.Exists(Path.Combine(Root, p))).ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void EveryMetricNameInTheDocsIsInTheCatalog()
    {
        var problems = DocsChecker.CheckMetricNames(Documents, MetricCatalog.All, NonCatalogMetricNames).ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }
}

/// <summary>The checks themselves: each one reports what it exists to catch.</summary>
public sealed class DocsCheckerTests
{
    private static MarkdownDoc Doc(string path, string text) => new(path, text.ReplaceLineEndings("\n"));

    [Fact]
    public void AnUnknownFlagInACodeBlockIsReported()
    {
        var doc = Doc("docs/a.md", "```bash\nrlmesh train --env CartPole-v1 --no-such-flag 3\n```\n");
        var problems = DocsChecker.CheckCommands([doc], RootCommandFactory.Create()).ToList();
        var problem = Assert.Single(problems);
        Assert.Equal(2, problem.Line);
        Assert.Contains("--no-such-flag", problem.Message);
    }

    [Fact]
    public void AnUnknownSubcommandIsReported()
    {
        var doc = Doc("README.md", "```sh\nrlmesh frobnicate --env CartPole-v1\n```\n");
        Assert.Single(DocsChecker.CheckCommands([doc], RootCommandFactory.Create()));
    }

    [Fact]
    public void ValidCommandsInEveryShownFormParse()
    {
        var doc = Doc("README.md", """
            ```bash
            dotnet run -c Release --project services/RLMesh.Cli -- train --env CartPole-v1 --out runs/cartpole
            RLMESH_RUNNER__ENVS=32 rlmesh launch --env CartPole-v1 --runners 4 \
                --broker amqp://guest:guest@localhost:5672/ --redis localhost:6379   # a comment
            kubectl -n rlmesh port-forward svc/rlmesh-parameter-server 8080:http & rlmesh status --url http://localhost:8080
            ```
            """);
        var shown = DocsChecker.ShownCommands(doc).ToList();
        Assert.Equal(3, shown.Count);
        Assert.Equal(["launch", "--env", "CartPole-v1", "--runners", "4", "--broker", "amqp://guest:guest@localhost:5672/", "--redis", "localhost:6379"], shown[1].Arguments);
        Assert.Empty(DocsChecker.CheckCommands([doc], RootCommandFactory.Create()));
    }

    [Fact]
    public void ACommandOutsideACodeBlockIsNotTakenForAnExample()
    {
        var doc = Doc("README.md", "Run `rlmesh train --bogus` to see the error.\n");
        Assert.Empty(DocsChecker.ShownCommands(doc));
    }

    [Fact]
    public void ALinkToAMissingFileIsReported()
    {
        var doc = Doc("docs/a.md", "See [the guide](missing-guide.md).\n");
        var problem = Assert.Single(DocsChecker.CheckLinks([doc], _ => false));
        Assert.Contains("docs/missing-guide.md", problem.Message);
    }

    [Fact]
    public void ALinkToAMissingAnchorIsReportedAndAnExistingOneIsNot()
    {
        var target = Doc("docs/b.md", "# Title\n\n## Runners lag\n\n<a id=\"bench-infer\"></a>\n| row |\n");
        var source = Doc("docs/a.md", "[ok](b.md#runners-lag) [ok](b.md#bench-infer) [ok](#local) [bad](b.md#runners-are-idle)\n\n## Local\n");
        var problem = Assert.Single(DocsChecker.CheckLinks([target, source], _ => false));
        Assert.Contains("runners-are-idle", problem.Message);
    }

    [Fact]
    public void LinksResolveRelativeToTheirDocumentAndExternalLinksAreSkipped()
    {
        var doc = Doc("docs/a.md", "[up](../README.md) [site](https://example.org/x) [code](../services/X.cs)\n");
        var readme = Doc("README.md", "# RLMesh\n");
        Assert.Empty(DocsChecker.CheckLinks([doc, readme], p => p == "services/X.cs"));
    }

    [Fact]
    public void HeadingSlugsFollowGitHub()
    {
        var anchors = DocsChecker.Anchors("## IMPACT (Luo et al. 2020) — `ImpactLoss.cs`\n## Faults\n## Faults\n## Roles (`rlmesh run <role>`)\n");
        Assert.Contains("impact-luo-et-al-2020--impactlosscs", anchors);
        Assert.Contains("faults", anchors);
        Assert.Contains("faults-1", anchors);
        Assert.Contains("roles-rlmesh-run-role", anchors);
    }

    [Fact]
    public void AnUnknownMetricIsReportedAndHistogramSeriesAreKnown()
    {
        var doc = Doc("docs/ops.md", "rate(rlmesh_learner_update_duration_seconds_sum[1m]) / rlmesh_env_frames_total\nrlmesh_frames_per_second\nrlmesh_env_frames_total_sum\n");
        var problems = DocsChecker.CheckMetricNames([doc], MetricCatalog.All, new HashSet<string>()).ToList();
        Assert.Equal(["rlmesh_frames_per_second", "rlmesh_env_frames_total_sum"], problems.Select(p => p.Message.Split('\'')[1]));
    }
}
