using System.CommandLine;
using System.Text;
using System.Text.RegularExpressions;
using RLMesh.Telemetry;

namespace RLMesh.Cli.Tests.Docs;

/// <summary>One problem found in a document: the file, its 1-based line and what is wrong.</summary>
public sealed record DocProblem(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>A markdown document by its path relative to the repository root and its text.</summary>
public sealed record MarkdownDoc(string RelativePath, string Text);

/// <summary>
/// Checks that documents stay true to the code: every `rlmesh ...` command shown in a code block parses with the real
/// command tree, every relative link (and #anchor) resolves, and every rlmesh_* metric name is in the catalog.
/// </summary>
public static partial class DocsChecker
{
    /// <summary>The documents the checks cover: README.md, docs/*.md and the chart's README.</summary>
    public static IReadOnlyList<MarkdownDoc> LoadRepositoryDocs(string root)
    {
        var paths = new List<string> { "README.md", Path.Combine("charts", "rlmesh", "README.md") };
        paths.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Select(p => Path.GetRelativePath(root, p)));
        return paths.Select(p => new MarkdownDoc(p.Replace('\\', '/'), File.ReadAllText(Path.Combine(root, p)))).ToList();
    }

    /// <summary>The repository root: the first directory above the test binaries that holds RLMesh.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RLMesh.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no RLMesh.sln above the test directory");
    }

    // ---- (1) command lines ----

    /// <summary>A command shown in a document: its arguments after `rlmesh` and where it was.</summary>
    public sealed record ShownCommand(string File, int Line, string Text, IReadOnlyList<string> Arguments);

    /// <summary>
    /// Every `rlmesh ...` invocation in fenced code blocks (also `kubectl rlmesh ...` and `dotnet run ... --project
    /// services/RLMesh.Cli -- ...`), with `\` continuations joined, comments dropped and shell lists split.
    /// </summary>
    public static IEnumerable<ShownCommand> ShownCommands(MarkdownDoc doc)
    {
        foreach (var (line, text) in CodeBlockLines(doc.Text))
        {
            foreach (var segment in SplitShellList(StripComment(text)))
            {
                var words = ShellWords(segment);
                int i = 0;
                while (i < words.Count && EnvAssignment().IsMatch(words[i])) i++;
                if (i < words.Count && words[i] == "$") i++;
                int start = -1;
                if (i < words.Count && (words[i] == "rlmesh" || words[i].EndsWith("/rlmesh", StringComparison.Ordinal)))
                    start = i + 1;
                else if (i + 1 < words.Count && words[i] == "kubectl" && words[i + 1] == "rlmesh")
                    start = i + 2;
                else if (i + 1 < words.Count && words[i] == "dotnet" && words[i + 1] == "run")
                {
                    int separator = words.IndexOf("--", i);
                    if (separator > 0 && words.Skip(i).Take(separator - i).Any(w => w.Contains("RLMesh.Cli", StringComparison.Ordinal)))
                        start = separator + 1;
                }
                else if (i + 1 < words.Count && words[i] == "dotnet" && words[i + 1].EndsWith("rlmesh.dll", StringComparison.Ordinal))
                    start = i + 2;
                if (start >= 0) yield return new ShownCommand(doc.RelativePath, line, segment.Trim(), words.Skip(start).ToList());
            }
        }
    }

    /// <summary>Commands that do not parse with <paramref name="root"/>: unknown commands or flags, bad values.</summary>
    public static IEnumerable<DocProblem> CheckCommands(IEnumerable<MarkdownDoc> docs, RootCommand root)
    {
        foreach (var doc in docs)
        {
            foreach (var shown in ShownCommands(doc))
            {
                if (shown.Arguments.Count == 0) continue;   // `rlmesh` alone names the program
                var parse = root.Parse(shown.Arguments.ToArray());
                if (parse.Errors.Count > 0)
                    yield return new DocProblem(shown.File, shown.Line,
                        $"`{shown.Text}` does not parse: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
            }
        }
    }

    // ---- (2) links ----

    /// <summary>Relative links whose file does not exist or whose #anchor is not a heading or anchor of the target.</summary>
    public static IEnumerable<DocProblem> CheckLinks(IReadOnlyList<MarkdownDoc> docs, Func<string, bool> fileExists)
    {
        var byPath = docs.ToDictionary(d => d.RelativePath, StringComparer.Ordinal);
        foreach (var doc in docs)
        {
            foreach (var (line, target) in Links(doc.Text))
            {
                if (ExternalLink().IsMatch(target)) continue;
                int hash = target.IndexOf('#');
                string pathPart = hash >= 0 ? target[..hash] : target;
                string? anchor = hash >= 0 ? Uri.UnescapeDataString(target[(hash + 1)..]) : null;
                string resolved = pathPart.Length == 0 ? doc.RelativePath : Normalize(CombineRelative(doc.RelativePath, Uri.UnescapeDataString(pathPart)));
                if (resolved.StartsWith("../", StringComparison.Ordinal))
                {
                    yield return new DocProblem(doc.RelativePath, line, $"link '{target}' leaves the repository");
                    continue;
                }
                if (!byPath.ContainsKey(resolved) && !fileExists(resolved.TrimEnd('/')))
                {
                    yield return new DocProblem(doc.RelativePath, line, $"link '{target}': no file {resolved}");
                    continue;
                }
                if (anchor is null || anchor.Length == 0) continue;
                if (!resolved.EndsWith(".md", StringComparison.Ordinal))
                    continue;   // anchors into source files (#L10) are not checked
                if (!byPath.TryGetValue(resolved, out var targetDoc))
                {
                    yield return new DocProblem(doc.RelativePath, line, $"link '{target}': {resolved} is not a checked document, so its anchor cannot be verified");
                    continue;
                }
                if (!Anchors(targetDoc.Text).Contains(anchor))
                    yield return new DocProblem(doc.RelativePath, line, $"link '{target}': {resolved} has no anchor '{anchor}'");
            }
        }
    }

    /// <summary>GitHub's anchors of a document: heading slugs (with -1, -2 ... for repeats) and explicit id/name anchors.</summary>
    public static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool inFence = false;
        foreach (var raw in markdown.Split('\n'))
        {
            var lineText = raw.TrimEnd('\r');
            if (Fence().IsMatch(lineText)) { inFence = !inFence; continue; }
            if (inFence) continue;
            foreach (Match m in HtmlAnchor().Matches(lineText)) anchors.Add(m.Groups[1].Value);
            var heading = Heading().Match(lineText);
            if (!heading.Success) continue;
            string slug = Slug(heading.Groups[1].Value);
            if (seen.TryGetValue(slug, out int count))
            {
                seen[slug] = count + 1;
                anchors.Add($"{slug}-{count}");
            }
            else
            {
                seen[slug] = 1;
                anchors.Add(slug);
            }
        }
        return anchors;
    }

    /// <summary>GitHub's heading slug: markup removed, lower case, punctuation dropped, spaces to hyphens.</summary>
    public static string Slug(string heading)
    {
        string text = MarkdownLink().Replace(heading, "$1");
        // HTML tags are markup outside code spans; inside one (`<role>`) they are text.
        var parts = text.Split('`');
        for (int i = 0; i < parts.Length; i += 2) parts[i] = HtmlTag().Replace(parts[i], "");
        text = string.Concat(parts);
        var slug = new StringBuilder();
        foreach (char c in text.Trim().ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c == '_' || c == '-') slug.Append(c);
            else if (c == ' ') slug.Append('-');
        }
        return slug.ToString();
    }

    // ---- (3) metric names ----

    /// <summary>rlmesh_* names that are not catalog metrics (histograms may carry _bucket, _sum and _count).</summary>
    public static IEnumerable<DocProblem> CheckMetricNames(IEnumerable<MarkdownDoc> docs, IReadOnlyList<MetricDefinition> catalog, IReadOnlySet<string> allowedOther)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var metric in catalog)
        {
            known.Add(metric.Name);
            if (metric.Type == MetricType.Histogram)
                foreach (var suffix in new[] { "_bucket", "_sum", "_count" }) known.Add(metric.Name + suffix);
        }
        foreach (var doc in docs)
        {
            int line = 0;
            foreach (var lineText in doc.Text.Split('\n'))
            {
                line++;
                foreach (Match m in MetricName().Matches(lineText))
                    if (!known.Contains(m.Value) && !allowedOther.Contains(m.Value))
                        yield return new DocProblem(doc.RelativePath, line, $"metric '{m.Value}' is not in RLMesh.Telemetry.MetricCatalog");
            }
        }
    }

    // ---- markdown and shell helpers ----

    private static IEnumerable<(int Line, string Text)> CodeBlockLines(string markdown)
    {
        bool inFence = false;
        int line = 0, startLine = 0;
        var pending = new StringBuilder();
        foreach (var raw in markdown.Split('\n'))
        {
            line++;
            var text = raw.TrimEnd('\r');
            if (Fence().IsMatch(text))
            {
                inFence = !inFence;
                continue;
            }
            if (!inFence) continue;
            if (pending.Length == 0) startLine = line;
            var trimmed = text.TrimEnd();
            if (trimmed.EndsWith('\\'))
            {
                pending.Append(trimmed[..^1]).Append(' ');
                continue;
            }
            pending.Append(text);
            yield return (startLine, pending.ToString());
            pending.Clear();
        }
    }

    private static string StripComment(string text)
    {
        bool single = false, dbl = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\'' && !dbl) single = !single;
            else if (c == '"' && !single) dbl = !dbl;
            else if (c == '#' && !single && !dbl && (i == 0 || char.IsWhiteSpace(text[i - 1]))) return text[..i];
        }
        return text;
    }

    private static IEnumerable<string> SplitShellList(string text) => ShellSeparator().Split(text).Where(s => s.Trim().Length > 0);

    private static List<string> ShellWords(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool single = false, dbl = false, any = false;
        foreach (char c in text)
        {
            if (c == '\'' && !dbl) { single = !single; any = true; continue; }
            if (c == '"' && !single) { dbl = !dbl; any = true; continue; }
            if (char.IsWhiteSpace(c) && !single && !dbl)
            {
                if (any) words.Add(word.ToString());
                word.Clear();
                any = false;
                continue;
            }
            word.Append(c);
            any = true;
        }
        if (any) words.Add(word.ToString());
        return words;
    }

    private static IEnumerable<(int Line, string Target)> Links(string markdown)
    {
        bool inFence = false;
        int line = 0;
        foreach (var raw in markdown.Split('\n'))
        {
            line++;
            var text = raw.TrimEnd('\r');
            if (Fence().IsMatch(text)) { inFence = !inFence; continue; }
            if (inFence) continue;
            text = InlineCode().Replace(text, "");
            foreach (Match m in LinkTarget().Matches(text)) yield return (line, m.Groups[1].Value);
        }
    }

    private static string CombineRelative(string fromFile, string relative)
    {
        int slash = fromFile.LastIndexOf('/');
        return slash < 0 ? relative : fromFile[..(slash + 1)] + relative;
    }

    private static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == ".." && parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
            else parts.Add(part);
        }
        return string.Join('/', parts) + (path.EndsWith('/') ? "/" : "");
    }

    [GeneratedRegex(@"^\s*(```|~~~)")] private static partial Regex Fence();
    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$")] private static partial Regex Heading();
    [GeneratedRegex(@"<a\s+(?:id|name)=""([^""]+)""")] private static partial Regex HtmlAnchor();
    [GeneratedRegex(@"<[^>]+>")] private static partial Regex HtmlTag();
    [GeneratedRegex(@"\[([^\]]*)\]\([^)]*\)")] private static partial Regex MarkdownLink();
    [GeneratedRegex(@"`[^`]*`")] private static partial Regex InlineCode();
    [GeneratedRegex(@"\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")] private static partial Regex LinkTarget();
    [GeneratedRegex(@"^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)] private static partial Regex ExternalLink();
    [GeneratedRegex(@"\brlmesh_[a-z0-9_]*[a-z0-9]")] private static partial Regex MetricName();
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*=")] private static partial Regex EnvAssignment();
    [GeneratedRegex(@"\s*(?:&&|\|\||[;&|])\s*")] private static partial Regex ShellSeparator();
}
