using System.Text.RegularExpressions;
using Xunit;

namespace RLMesh.Deploy.Tests;

/// <summary>No Docker engine or skaffold runs here: check what can be checked of the Dockerfile and skaffold.yaml.</summary>
public class DevLoopTests
{
    [Fact]
    public void SkaffoldDeploysTheChartWithTheBuiltImageThroughSetValueTemplates()
    {
        var doc = Manifests.Parse<Dictionary<object, object>>(File.ReadAllText(Path.Combine(Tools.RepoRoot, "skaffold.yaml")))!;
        Assert.StartsWith("skaffold/v4beta", (string)doc["apiVersion"]);
        var release = (Dictionary<object, object>)((List<object>)Manifest.Walk(doc, "deploy.helm.releases")!)[0];
        Assert.True(Directory.Exists(Path.Combine(Tools.RepoRoot, (string)release["chartPath"])));
        var templates = (Dictionary<object, object>)release["setValueTemplates"];
        Assert.Equal("{{.IMAGE_REPO_rlmesh}}", templates["image.repository"]);
        Assert.Equal("{{.IMAGE_TAG_rlmesh}}", templates["image.tag"]);
        var artifact = (Dictionary<object, object>)((List<object>)Manifest.Walk(doc, "build.artifacts")!)[0];
        Assert.Equal("rlmesh", artifact["image"]);

        // The values skaffold sets render: as skaffold would after a build tagged abc123.
        var sets = new List<string> { "image.repository=registry.local/rlmesh", "image.tag=abc123" };
        sets.AddRange(((Dictionary<object, object>)release["setValues"]).Select(kv => $"{kv.Key}={kv.Value}"));
        var result = Tools.HelmTemplate(sets: sets);
        Assert.True(result.ExitCode == 0, result.Output);
        var images = Manifests.Containers(Manifests.Parse(result.StdOut)).Where(x => x.Owner.Kind == "Deployment").Select(x => (string)x.Container["image"]).Distinct();
        Assert.Equal("registry.local/rlmesh:abc123", Assert.Single(images));
    }

    [Fact]
    public void DockerfileBuildsInTheSdkAndRunsAsNonRootOnTheAspnetRuntime()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Tools.RepoRoot, "Dockerfile"));
        var stages = Regex.Matches(dockerfile, @"(?m)^FROM\s+(\S+)").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"], stages);
        Assert.Matches(@"(?m)^USER\s+10001", dockerfile);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/rlmesh.dll\"]", dockerfile);
        // Restore layer: every project file copied before `dotnet restore` exists, and restore precedes the source copy.
        foreach (Match m in Regex.Matches(dockerfile, @"(?m)^COPY\s+(services/\S+\.csproj)\s"))
            Assert.True(File.Exists(Path.Combine(Tools.RepoRoot, m.Groups[1].Value)), $"{m.Groups[1].Value} does not exist");
        Assert.True(dockerfile.IndexOf("dotnet restore", StringComparison.Ordinal) < dockerfile.IndexOf("COPY services/ services/", StringComparison.Ordinal));
        // ReadyToRun needs the runtime identifier at restore too (--no-restore publish would fail without its assets).
        Assert.Matches(@"dotnet restore [^\n]*-r \$rid", dockerfile);
        Assert.Matches(@"dotnet publish [^\n]*--no-restore -r \$rid --self-contained false", dockerfile);
        Assert.Contains("-p:PublishReadyToRun=true", dockerfile);
        // Every project the CLI references transitively is restored from its own COPY line.
        var cli = File.ReadAllText(Path.Combine(Tools.RepoRoot, "services", "RLMesh.Cli", "RLMesh.Cli.csproj"));
        foreach (Match m in Regex.Matches(cli, @"ProjectReference Include=""\.\./(RLMesh\.[A-Za-z.]+)/"))
            Assert.Contains($"COPY services/{m.Groups[1].Value}/{m.Groups[1].Value}.csproj", dockerfile);
    }
}
