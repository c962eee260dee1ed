using System.Globalization;
using System.Text;

namespace RLMesh.Telemetry;

/// <summary>The catalog as a Markdown table (docs/telemetry.md carries it; a test keeps the two equal; `rlmesh metrics catalog` prints it).</summary>
public static class CatalogMarkdown
{
    public static string Render(IReadOnlyList<MetricDefinition>? catalog = null)
    {
        catalog ??= MetricCatalog.All;
        var text = new StringBuilder();
        text.Append("| name | type | unit | labels | help |\n");
        text.Append("| --- | --- | --- | --- | --- |\n");
        foreach (var d in catalog)
        {
            string type = d.Type.ToString().ToLowerInvariant();
            if (d.Buckets is { } b)
                type += " (buckets " + string.Join(", ", b.Select(x => x.ToString(CultureInfo.InvariantCulture))) + ")";
            text.Append(CultureInfo.InvariantCulture,
                $"| `{d.Name}` | {type} | {d.Unit} | {(d.Labels.Length == 0 ? "-" : string.Join(", ", d.Labels.Select(l => $"`{l}`")))} | {d.Help.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }
        return text.ToString();
    }
}
