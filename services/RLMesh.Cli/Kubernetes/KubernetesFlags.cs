using System.CommandLine;

namespace RLMesh.Cli.Kubernetes;

/// <summary>The flags every command that talks to a cluster shares: which release, namespace, kubeconfig and context.</summary>
internal sealed class KubernetesFlags
{
    public Option<string> Release { get; } = new("--release", "-r") { Description = "Helm release name", DefaultValueFactory = _ => "rlmesh" };
    public Option<string?> Namespace { get; } = new("--namespace", "-n") { Description = "Namespace (default: the kubeconfig context's, or the pod's own)" };
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = $"kubeconfig file (default: ${KubernetesCluster.KubeconfigVariable}; else, in a pod, its service account; else ~/.kube/config)" };
    public Option<string?> Context { get; } = new("--context") { Description = "kubeconfig context (default: the file's current-context)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Release);
        command.Options.Add(Namespace);
        command.Options.Add(Kubeconfig);
        command.Options.Add(Context);
    }

    public KubernetesConnectionOptions ConnectionOptions(ParseResult parse) =>
        new(parse.GetValue(Kubeconfig), parse.GetValue(Context), parse.GetValue(Namespace));
}
