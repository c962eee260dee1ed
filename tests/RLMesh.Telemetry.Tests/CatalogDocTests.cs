namespace RLMesh.Telemetry.Tests;

public class CatalogDocTests
{
    private const string Begin = "<!-- catalog:begin (generated: rlmesh metrics catalog) -->";
    private const string End = "<!-- catalog:end -->";

    [Fact]
    public void TelemetryDocCarriesTheCatalogAsTheCodeRendersIt()
    {
        string path = Path.Combine(Tools.RepositoryRoot(), "docs", "telemetry.md");
        string doc = File.ReadAllText(path).ReplaceLineEndings("\n");
        int begin = doc.IndexOf(Begin, StringComparison.Ordinal);
        int end = doc.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"{path} lacks the catalog markers");
        string table = doc[(begin + Begin.Length)..end].Trim('\n') + "\n";
        Assert.True(table == CatalogMarkdown.Render(),
            "docs/telemetry.md is out of date: replace the table between the catalog markers with the output of `rlmesh metrics catalog`");
    }
}
