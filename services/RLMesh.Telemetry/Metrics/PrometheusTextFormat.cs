using System.Globalization;
using System.Text;

namespace RLMesh.Telemetry.Metrics;

/// <summary>
/// Renders the Prometheus text exposition format, version 0.0.4: # HELP and # TYPE per family, one sample line
/// per child, label values escaped (backslash, double quote, newline), histograms as cumulative _bucket{le}
/// lines ending with le="+Inf", then _sum and _count. Validated by the real `promtool check metrics` in the tests.
/// </summary>
public static class PrometheusTextFormat
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Write(StringBuilder output, IEnumerable<MetricFamily> families)
    {
        foreach (var family in families)
        {
            var d = family.Definition;
            var children = family.Children().ToList();
            if (children.Count == 0) continue;
            output.Append("# HELP ").Append(d.Name).Append(' ').Append(EscapeHelp(d.Help)).Append('\n');
            output.Append("# TYPE ").Append(d.Name).Append(' ').Append(TypeName(d.Type)).Append('\n');
            foreach (var (values, child) in children)
            {
                switch (child)
                {
                    case Counter counter:
                        Sample(output, d.Name, d.Labels, values, null, counter.Value);
                        break;
                    case Gauge gauge:
                        Sample(output, d.Name, d.Labels, values, null, gauge.Value);
                        break;
                    case Histogram histogram:
                        var cumulative = histogram.CumulativeCounts();
                        var bounds = histogram.Bounds;
                        for (int i = 0; i < cumulative.Length; i++)
                        {
                            string le = i < bounds.Length ? FormatValue(bounds[i]) : "+Inf";
                            Sample(output, d.Name + "_bucket", d.Labels, values, le, cumulative[i]);
                        }
                        Sample(output, d.Name + "_sum", d.Labels, values, null, histogram.Sum);
                        Sample(output, d.Name + "_count", d.Labels, values, null, cumulative[^1]);
                        break;
                }
            }
        }
    }

    private static void Sample(StringBuilder output, string name, string[] labels, string[] values, string? le, double value)
    {
        output.Append(name);
        if (labels.Length > 0 || le is not null)
        {
            output.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0) output.Append(',');
                output.Append(labels[i]).Append("=\"");
                EscapeLabelValue(output, values[i]);
                output.Append('"');
            }
            if (le is not null)
            {
                if (labels.Length > 0) output.Append(',');
                output.Append("le=\"").Append(le).Append('"');
            }
            output.Append('}');
        }
        output.Append(' ').Append(FormatValue(value)).Append('\n');
    }

    public static string TypeName(MetricType type) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Gauge => "gauge",
        MetricType.Histogram => "histogram",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Go's float syntax as Prometheus parses it: NaN, +Inf, -Inf, or the shortest round-trip decimal.</summary>
    public static string FormatValue(double value) =>
        double.IsNaN(value) ? "NaN"
        : double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : value.ToString("R", CultureInfo.InvariantCulture);

    internal static void EscapeLabelValue(StringBuilder output, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': output.Append("\\\\"); break;
                case '"': output.Append("\\\""); break;
                case '\n': output.Append("\\n"); break;
                default: output.Append(c); break;
            }
        }
    }

    internal static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public static bool IsValidMetricName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or ':') && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    public static bool IsValidLabelName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !name.StartsWith("__", StringComparison.Ordinal);
}
