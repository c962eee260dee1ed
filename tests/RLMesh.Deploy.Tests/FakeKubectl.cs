namespace RLMesh.Deploy.Tests;

/// <summary>
/// A fake `kubectl` in a temp dir: a shell script that records each call's arguments (one call per line,
/// arguments separated by spaces) and answers `get deployments` / `get scaledobjects.keda.sh` with canned JSON.
/// </summary>
public sealed class FakeKubectl : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("rlmesh-fake-kubectl-");

    public string Path => System.IO.Path.Combine(_dir.FullName, "kubectl");
    private string CallsFile => System.IO.Path.Combine(_dir.FullName, "calls.log");

    public FakeKubectl(string deploymentsJson, string scaledObjectsJson = """{"items": []}""", bool failWrites = false)
    {
        File.WriteAllText(System.IO.Path.Combine(_dir.FullName, "deployments.json"), deploymentsJson);
        File.WriteAllText(System.IO.Path.Combine(_dir.FullName, "scaledobjects.json"), scaledObjectsJson);
        File.WriteAllText(Path, $$"""
            #!/bin/sh
            here=$(dirname "$0")
            echo "$*" >> "$here/calls.log"
            case "$1 $2" in
              "get deployments") cat "$here/deployments.json" ;;
              "get scaledobjects.keda.sh"|"get horizontalpodautoscalers.autoscaling") cat "$here/scaledobjects.json" ;;
              "scale "*|"patch "*)
                {{(failWrites ? "echo 'Error from server (Forbidden): cannot patch' >&2; exit 1" : "echo ok")}} ;;
              *) echo "fake kubectl: unexpected call: $*" >&2; exit 3 ;;
            esac
            """.Replace("\r\n", "\n"));
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public IReadOnlyList<string> Calls => File.Exists(CallsFile) ? File.ReadAllLines(CallsFile) : [];

    public void Dispose() => _dir.Delete(recursive: true);

    public static string Deployment(int? replicas, bool autoscaled, int min = 1, int max = 8, string name = "ppo-rlmesh-env-runner", string provider = "keda")
    {
        string spec = replicas is int r ? $"{{\"replicas\": {r}, \"selector\": {{}}}}" : "{\"selector\": {}}";
        string annotations = $"{{\"rlmesh.io/min-replicas\": \"{min}\", \"rlmesh.io/max-replicas\": \"{max}\", \"rlmesh.io/autoscaling\": \"{(autoscaled ? provider : "off")}\"}}";
        return "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", "
            + $"\"metadata\": {{\"name\": \"{name}\", \"namespace\": \"rl\", \"annotations\": {annotations}}}, \"spec\": {spec}}}]}}";
    }

    public static string ScaledObject(int min, int max) =>
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"keda.sh/v1alpha1\", \"kind\": \"ScaledObject\", "
        + $"\"metadata\": {{\"name\": \"ppo-rlmesh-env-runner\", \"namespace\": \"rl\"}}, \"spec\": {{\"minReplicaCount\": {min}, \"maxReplicaCount\": {max}}}}}]}}";
}

public static class FakeHpa
{
    public static string List(int min, int max) =>
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"autoscaling/v2\", \"kind\": \"HorizontalPodAutoscaler\", "
        + $"\"metadata\": {{\"name\": \"ppo-rlmesh-env-runner\"}}, \"spec\": {{\"minReplicas\": {min}, \"maxReplicas\": {max}}}}}]}}";
}
