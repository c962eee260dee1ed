using System.CommandLine;
using RLMesh.Telemetry;

namespace RLMesh.Cli.Commands;

/// <summary>`rlmesh metrics catalog`: the metric catalog as a Markdown table (the one docs/telemetry.md carries).</summary>
public static class MetricsCommand
{
    public static Command Create()
    {
        var metrics = new Command("metrics", "The metric catalog every service exposes on /metrics");
        var catalog = new Command("catalog", "Print the metric catalog (name, type, unit, labels, help) as a Markdown table");
        catalog.SetAction(_ =>
        {
            Console.Write(CatalogMarkdown.Render());
            return ExitCodes.Ok;
        });
        metrics.Subcommands.Add(catalog);
        return metrics;
    }
}
