using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using RLMesh.Cli.Commands;

namespace RLMesh.Cli.Kubernetes;

/// <summary>A call to the API server failed (unreachable, forbidden, not found): exit code 1 with the reason.</summary>
public sealed class KubernetesFailure(string message) : Exception(message);

/// <summary>Where the cluster's credentials come from; null fields take the defaults described on <see cref="KubernetesCluster.Connect"/>.</summary>
public sealed record KubernetesConnectionOptions(string? Kubeconfig, string? Context, string? Namespace);

/// <summary>
/// The seam to the cluster: a KubernetesClient connection plus the namespace the commands act in. Every API call goes
/// through <see cref="CallAsync{T}"/>, which turns HTTP and transport errors into <see cref="KubernetesFailure"/>s that
/// name the operation, so the commands print one clear line instead of a stack trace.
/// </summary>
public sealed class KubernetesCluster : IDisposable
{
    public const string KubeconfigVariable = "KUBECONFIG";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private KubernetesCluster(IKubernetes client, string @namespace, string source)
    {
        Client = client;
        Namespace = @namespace;
        Source = source;
    }

    public IKubernetes Client { get; }

    /// <summary>--namespace, else the kubeconfig context's (or the pod's own) namespace, else "default".</summary>
    public string Namespace { get; }

    /// <summary>Where the connection came from, for messages: "context X of FILE (SERVER)" or "in-cluster service account (SERVER)".</summary>
    public string Source { get; }

    /// <summary>
    /// --kubeconfig, --context or KUBECONFIG: that kubeconfig (KUBECONFIG: the first existing file of its list) and
    /// context. Otherwise, inside a pod: the pod's service account. Otherwise ~/.kube/config.
    /// </summary>
    public static KubernetesCluster Connect(KubernetesConnectionOptions options)
    {
        bool explicitKubeconfig = !string.IsNullOrEmpty(options.Kubeconfig) || !string.IsNullOrEmpty(options.Context)
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KubeconfigVariable));
        KubernetesClientConfiguration config;
        string source;
        if (!explicitKubeconfig && KubernetesClientConfiguration.IsInCluster())
        {
            try { config = KubernetesClientConfiguration.InClusterConfig(); }
            catch (Exception ex) when (ex is KubeConfigException or IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"this looks like a pod, but its service account credentials cannot be read: {ex.Message}; pass --kubeconfig to use a kubeconfig instead");
            }
            source = $"in-cluster service account ({config.Host})";
        }
        else
        {
            string path = KubeconfigPath(options.Kubeconfig);
            try { config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path, currentContext: NullIfEmpty(options.Context)); }
            catch (KubeConfigException ex)
            {
                throw new UsageException($"the kubeconfig {path} cannot be used: {ex.Message}");
            }
            catch (Exception ex) when (ex is YamlDotNet.Core.YamlException or IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"the kubeconfig {path} cannot be read: {ex.Message}");
            }
            source = $"context {config.CurrentContext} of {path} ({config.Host})";
        }
        config.HttpClientTimeout = RequestTimeout;
        string @namespace = NullIfEmpty(options.Namespace) ?? NullIfEmpty(config.Namespace) ?? "default";
        return new KubernetesCluster(new k8s.Kubernetes(config), @namespace, source);
    }

    private static string KubeconfigPath(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : throw new UsageException($"--kubeconfig {explicitPath} does not exist");
        var fromEnvironment = Environment.GetEnvironmentVariable(KubeconfigVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            // KUBECONFIG is a list like PATH; kubectl merges the files, we take the first one that exists.
            var existing = fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(File.Exists);
            return existing ?? throw new UsageException($"{KubeconfigVariable}={fromEnvironment} names no existing file: fix it, or pass --kubeconfig PATH");
        }
        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home)
            ? home
            : throw new UsageException($"no Kubernetes configuration: not running in a pod, {KubeconfigVariable} is not set and {home} does not exist; pass --kubeconfig PATH or set {KubeconfigVariable}");
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Runs one API call; <paramref name="what"/> says what it does ("list deployments in namespace rl").</summary>
    public async Task<T> CallAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken);
        }
        catch (HttpOperationException ex)
        {
            throw new KubernetesFailure(Describe(what, ex.Response.StatusCode, ex.Response.Content));
        }
        catch (HttpRequestException ex)
        {
            throw new KubernetesFailure($"cannot reach the Kubernetes API server ({Source}) to {what}: {ex.Message}");
        }
        catch (JsonException ex)
        {
            throw new KubernetesFailure($"the answer of the Kubernetes API server ({Source}) to {what} is not the expected JSON: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KubernetesFailure($"the Kubernetes API server ({Source}) did not answer within {RequestTimeout.TotalSeconds:F0} s to {what}");
        }
    }

    private string Describe(string what, HttpStatusCode status, string? body)
    {
        string reason = StatusMessage(body) ?? status.ToString();
        return status switch
        {
            HttpStatusCode.Forbidden => $"the API server refused to {what} (403 Forbidden): {reason}; the credentials of {Source} need that permission (RBAC)",
            HttpStatusCode.Unauthorized => $"the API server rejected the credentials of {Source} (401 Unauthorized) trying to {what}: {reason}",
            HttpStatusCode.NotFound => $"cannot {what}: not found (404): {reason}",
            _ => $"cannot {what}: {(int)status} {status}: {reason}",
        };
    }

    /// <summary>The message of a Kubernetes Status body, when the body is one.</summary>
    private static string? StatusMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()
                : null;
        }
        catch (JsonException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }

    public void Dispose() => Client.Dispose();
}
