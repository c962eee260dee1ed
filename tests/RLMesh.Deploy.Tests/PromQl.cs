using System.Text.Json;
using System.Text.RegularExpressions;
using RLMesh.Telemetry;

namespace RLMesh.Deploy.Tests;

/// <summary>
/// Finds the metric names a PromQL expression reads: strings, label matchers, ranges, grouping clauses,
/// function calls, keywords and numbers are stripped; what is left are metric (or recording-rule) names.
/// </summary>
public static partial class PromQl
{
    private static readonly HashSet<string> Keywords =
        ["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan", "atan2"];

    public static IReadOnlySet<string> MetricNames(string expression)
    {
        string s = Strings().Replace(expression, "\"\"");
        s = Braces().Replace(s, " ");
        s = Brackets().Replace(s, " ");
        s = Grouping().Replace(s, " ");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Identifier().Matches(s))
        {
            string word = m.Groups["name"].Value;
            if (m.Groups["call"].Success || Keywords.Contains(word.ToLowerInvariant())) continue;
            names.Add(word);
        }
        return names;
    }

    /// <summary>Names that are neither catalog metrics (histograms also as _bucket/_sum/_count) nor allowed extras.</summary>
    public static IReadOnlyList<string> UnknownNames(string expression, IReadOnlySet<string> allowed)
    {
        var catalog = MetricCatalog.All.ToDictionary(d => d.Name);
        bool Known(string name)
        {
            if (catalog.ContainsKey(name) || allowed.Contains(name)) return true;
            foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
                if (name.EndsWith(suffix, StringComparison.Ordinal) && catalog.TryGetValue(name[..^suffix.Length], out var d) && d.Type == MetricType.Histogram)
                    return true;
            return false;
        }
        return MetricNames(expression).Where(n => !Known(n)).ToList();
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'")]
    private static partial Regex Strings();
    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Braces();
    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Brackets();
    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", RegexOptions.IgnoreCase)]
    private static partial Regex Grouping();
    [GeneratedRegex(@"(?<![\w:.])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();
}

/// <summary>Every PromQL expression the chart ships, with where it came from.</summary>
public static class ChartExpressions
{
    public sealed record Expression(string Source, string Text);

    public static string RulesFile => Path.Combine(Tools.ChartDirectory, "files", "rlmesh-rules.yaml");

    public static IReadOnlyList<Expression> Rules()
    {
        var doc = Manifests.Parse<Dictionary<object, object>>(File.ReadAllText(RulesFile))!;
        var result = new List<Expression>();
        foreach (var group in ((List<object>)doc["groups"]).Cast<Dictionary<object, object>>())
            foreach (var rule in ((List<object>)group["rules"]).Cast<Dictionary<object, object>>())
                result.Add(new($"rules {group["name"]}/{rule.GetValueOrDefault("alert") ?? rule.GetValueOrDefault("record")}", (string)rule["expr"]));
        return result;
    }

    public static IReadOnlySet<string> RecordingRuleNames()
    {
        var doc = Manifests.Parse<Dictionary<object, object>>(File.ReadAllText(RulesFile))!;
        return ((List<object>)doc["groups"]).Cast<Dictionary<object, object>>()
            .SelectMany(g => ((List<object>)g["rules"]).Cast<Dictionary<object, object>>())
            .Where(r => r.ContainsKey("record")).Select(r => (string)r["record"]).ToHashSet();
    }

    public static IReadOnlyList<Expression> Dashboards()
    {
        var result = new List<Expression>();
        foreach (var file in Directory.GetFiles(Path.Combine(Tools.ChartDirectory, "dashboards"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in Panels(doc.RootElement))
                if (panel.TryGetProperty("targets", out var targets))
                    foreach (var t in targets.EnumerateArray())
                        if (t.TryGetProperty("expr", out var expr))
                            result.Add(new($"{Path.GetFileName(file)} panel '{panel.GetProperty("title").GetString()}'", expr.GetString()!));
        }
        return result;
    }

    private static IEnumerable<JsonElement> Panels(JsonElement node)
    {
        if (!node.TryGetProperty("panels", out var panels)) yield break;
        foreach (var p in panels.EnumerateArray())
        {
            yield return p;
            foreach (var nested in Panels(p)) yield return nested;
        }
    }

    public static IReadOnlyList<Expression> ScaledObject(IEnumerable<Manifest> manifests) =>
        manifests.Where(m => m.Kind == "ScaledObject")
            .SelectMany(m => m.List("spec.triggers").Select(t => new Expression($"{m} trigger", (string)Manifest.Walk(t, "metadata.query")!)))
            .ToList();
}
