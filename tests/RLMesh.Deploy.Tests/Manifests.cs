using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace RLMesh.Deploy.Tests;

/// <summary>One rendered Kubernetes object as nested dictionaries/lists/strings, with path helpers.</summary>
public sealed class Manifest(Dictionary<object, object> root)
{
    public Dictionary<object, object> Root { get; } = root;
    public string Kind => (string)Root["kind"];
    public string Name => Str("metadata.name") ?? "";
    public override string ToString() => $"{Kind}/{Name}";

    public object? Get(string path) => Walk(Root, path);
    public string? Str(string path) => Get(path) as string;
    public Dictionary<object, object>? Map(string path) => Get(path) as Dictionary<object, object>;
    public List<object> List(string path) => Get(path) as List<object> ?? [];

    public static object? Walk(object? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            if (node is not Dictionary<object, object> map || !map.TryGetValue(part, out node)) return null;
        }
        return node;
    }

    /// <summary>The pod spec of a workload (Deployment, StatefulSet), else null.</summary>
    public Dictionary<object, object>? PodSpec => Map("spec.template.spec");
}

public static class Manifests
{
    private static readonly IDeserializer Yaml = new DeserializerBuilder().Build();

    public static List<Manifest> Parse(string multiDocument)
    {
        var result = new List<Manifest>();
        var parser = new Parser(new StringReader(multiDocument));
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var doc = Yaml.Deserialize<object?>(parser);
            if (doc is Dictionary<object, object> map && map.ContainsKey("kind")) result.Add(new Manifest(map));
        }
        return result;
    }

    public static T? Parse<T>(string yaml) => Yaml.Deserialize<T>(yaml);

    /// <summary>Every container (and init container) of every workload, with its owner.</summary>
    public static IEnumerable<(Manifest Owner, Dictionary<object, object> Container)> Containers(IEnumerable<Manifest> manifests)
    {
        foreach (var m in manifests)
        {
            if (m.PodSpec is not { } pod) continue;
            foreach (var key in new[] { "containers", "initContainers" })
                if (pod.TryGetValue(key, out var list) && list is List<object> items)
                    foreach (var c in items.Cast<Dictionary<object, object>>()) yield return (m, c);
        }
    }
}

/// <summary>Renders the chart once per value set for the tests that read manifests.</summary>
public sealed class RenderedChart
{
    public List<Manifest> Defaults { get; }
    public List<Manifest> AllOn { get; }
    public List<Manifest> External { get; }

    public RenderedChart()
    {
        Defaults = Render();
        AllOn = Render("values-all-on.yaml");
        External = Render("values-external.yaml");
    }

    private static List<Manifest> Render(params string[] valuesFiles)
    {
        var result = Tools.HelmTemplate(valuesFiles);
        if (result.ExitCode != 0) throw new InvalidOperationException($"helm template failed with {string.Join(",", valuesFiles)}:\n{result.Output}");
        return Manifests.Parse(result.StdOut);
    }

    public IEnumerable<(string Name, List<Manifest> Manifests)> All =>
        [("defaults", Defaults), ("all-on", AllOn), ("external", External)];
}
