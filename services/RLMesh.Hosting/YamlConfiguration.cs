using YamlDotNet.RepresentationModel;

namespace RLMesh.Hosting;

/// <summary>Turns a YAML document into configuration keys (<c>runner: {envs: 32}</c> becomes <c>runner:envs = 32</c>).</summary>
public static class YamlConfiguration
{
    public static Dictionary<string, string?> Flatten(string yaml)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count > 0)
            Visit(stream.Documents[0].RootNode, "", result);
        return result;
    }

    private static void Visit(YamlNode node, string prefix, Dictionary<string, string?> result)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                    Visit(value, prefix.Length == 0 ? ((YamlScalarNode)key).Value! : $"{prefix}:{((YamlScalarNode)key).Value}", result);
                break;
            case YamlSequenceNode sequence:
                for (int i = 0; i < sequence.Children.Count; i++)
                    Visit(sequence.Children[i], $"{prefix}:{i}", result);
                break;
            case YamlScalarNode scalar:
                result[prefix] = scalar.Value;
                break;
        }
    }
}
