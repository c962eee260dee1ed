using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;
using RLMesh.Remote.Env;
using RLMesh.Remote.Inference;
using RLMesh.Remote.Policy;
using RLMesh.Remote.Protocol;
using RLMesh.Telemetry;
using RLMesh.Telemetry.Hosting;
using RLMesh.Telemetry.Metrics;

namespace RLMesh.Remote.Hosting;

public sealed record RemoteServerOptions
{
    /// <summary>Kestrel URL to bind; port 0 binds any free port (read it back from <see cref="RemoteServer.BaseAddress"/>).</summary>
    public string Url { get; init; } = "http://127.0.0.1:0";
    /// <summary>The environment runners must host; others are refused at handshake.</summary>
    public required string EnvId { get; init; }
    /// <summary>How long a connected socket may take to send its Hello (not a limit on when runners join).</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Metrics sink; rejected frames count in rlmesh_dead_letters_total{queue="remote"}.</summary>
    public MetricRegistry? Registry { get; init; }
}

/// <summary>
/// The trainer side's listening end: a Kestrel host where runners dial in over WebSocket (they dial out, so
/// NAT and firewalls in front of runners do not matter). Remote-env runners join <see cref="Runners"/>;
/// central-inference runners are served by <see cref="Inference"/> when one is attached.
/// A malformed frame is answered with an Error frame and counted; it never stops the server.
/// </summary>
public sealed class RemoteServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RemoteServerOptions _options;
    private readonly MetricFamily<Counter>? _rejected;
    private readonly CancellationTokenSource _stopping = new();
    private long _rejectedFrames;

    private RemoteServer(WebApplication app, RemoteServerOptions options)
    {
        _app = app;
        _options = options;
        _rejected = options.Registry?.Counter(MetricCatalog.DeadLetters);
        Runners = new RunnerPool();
    }

    public Uri BaseAddress { get; private set; } = null!;
    /// <summary>ws://host:port/rlmesh/v1/env: what `rlmesh remote-runner --connect` takes.</summary>
    public Uri EnvUrl => new(ToWebSocket(BaseAddress), RemoteProtocol.EnvPath);
    public Uri InferenceUrl => new(ToWebSocket(BaseAddress), RemoteProtocol.InferencePath);
    public string EnvId => _options.EnvId;
    public RunnerPool Runners { get; }
    /// <summary>Serves central-inference runners; without one they are refused at handshake.</summary>
    public InferenceServer? Inference { get; set; }
    /// <summary>Serves policy runners (local policy copy, APS pulls); without one they are refused at handshake.</summary>
    public PolicyRunnerHost? Policy { get; set; }
    public Uri PolicyUrl => new(ToWebSocket(BaseAddress), RemoteProtocol.PolicyPath);
    /// <summary>Frames refused since start (malformed, unexpected, wrong version).</summary>
    public long RejectedFrames => Interlocked.Read(ref _rejectedFrames);

    public static async Task<RemoteServer> StartAsync(RemoteServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(TelemetryHosting.WebHostOptions());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(options.Url);
        var app = builder.Build();
        var server = new RemoteServer(app, options);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        app.Map(RemoteProtocol.EnvPath, context => server.AcceptAsync(context, Capability.RemoteEnv));
        app.Map(RemoteProtocol.InferencePath, context => server.AcceptAsync(context, Capability.CentralInference));
        app.Map(RemoteProtocol.PolicyPath, context => server.AcceptAsync(context, Capability.PolicyRunner));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Url;
        server.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    private static Uri ToWebSocket(Uri http) => new UriBuilder(http) { Scheme = http.Scheme == "https" ? "wss" : "ws" }.Uri;

    private async Task AcceptAsync(HttpContext context, Capability capability)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("rlmesh remote endpoint: connect with a WebSocket (see docs/remote.md)\n", context.RequestAborted).ConfigureAwait(false);
            return;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var token = linked.Token;
        var socket = new FrameSocket(await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false));
        await using (socket.ConfigureAwait(false))
        {
            try
            {
                var hello = await HandshakeAsync(socket, capability, token).ConfigureAwait(false);
                if (hello is null) return;
                if (capability == Capability.RemoteEnv)
                    await Runners.ServeAsync(this, socket, hello, token).ConfigureAwait(false);
                else if (capability == Capability.CentralInference)
                    await Inference!.ServeAsync(this, socket, hello, token).ConfigureAwait(false);
                else
                    await Policy!.ServeAsync(this, socket, hello, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Server stopping or the peer went away.
            }
            catch (WebSocketException)
            {
                // The peer dropped the connection; whoever owned it has been told.
            }
        }
    }

    /// <summary>Reads frames until a valid Hello; refuses wrong versions, capabilities, envs and spaces with a reason.</summary>
    private async Task<Hello?> HandshakeAsync(FrameSocket socket, Capability capability, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HelloTimeout);
        while (true)
        {
            RemoteFrame? frame;
            try
            {
                frame = await socket.ReceiveAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (InvalidMessageException e)
            {
                await RejectAsync(socket, "malformed", RemoteErrorCode.MalformedFrame, e.Reason, cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await RefuseAsync(socket, "no_hello", RemoteErrorCode.UnexpectedFrame, $"no Hello within {_options.HelloTimeout.TotalSeconds:0} s of connecting", cancellationToken).ConfigureAwait(false);
                return null;
            }
            if (frame is null) return null;
            if (frame.BodyCase != RemoteFrame.BodyOneofCase.Hello)
            {
                await RejectAsync(socket, "unexpected", RemoteErrorCode.UnexpectedFrame, $"expected Hello first, got {frame.BodyCase}", cancellationToken).ConfigureAwait(false);
                continue;
            }
            var hello = frame.Hello;
            if (hello.ProtocolMajor != RemoteProtocol.Major)
            {
                await RefuseAsync(socket, "version", RemoteErrorCode.VersionMismatch,
                    $"protocol version mismatch: the runner speaks {hello.ProtocolMajor}.{hello.ProtocolMinor}, this trainer speaks {RemoteProtocol.Major}.{RemoteProtocol.Minor}; major versions must match (upgrade the older side)",
                    cancellationToken).ConfigureAwait(false);
                return null;
            }
            if ((hello.Capabilities & RemoteProtocol.Flag(capability)) == 0)
            {
                await RefuseAsync(socket, "capability", RemoteErrorCode.UnexpectedFrame,
                    $"this endpoint needs capability {capability}; the runner offers 0x{hello.Capabilities:x}", cancellationToken).ConfigureAwait(false);
                return null;
            }
            if ((capability == Capability.CentralInference && Inference is null) || (capability == Capability.PolicyRunner && Policy is null))
            {
                await RefuseAsync(socket, "capability", RemoteErrorCode.UnexpectedFrame, $"this trainer does not serve {capability} runners", cancellationToken).ConfigureAwait(false);
                return null;
            }
            if (hello.EnvId != _options.EnvId)
            {
                await RefuseAsync(socket, "env", RemoteErrorCode.EnvMismatch, $"this trainer wants {_options.EnvId} runners; the runner hosts '{hello.EnvId}'", cancellationToken).ConfigureAwait(false);
                return null;
            }
            string? spaceProblem = CheckSpaces(hello);
            if (spaceProblem is not null || hello.NumEnvs < 1)
            {
                await RefuseAsync(socket, "env", RemoteErrorCode.EnvMismatch, spaceProblem ?? $"num_envs must be at least 1, got {hello.NumEnvs}", cancellationToken).ConfigureAwait(false);
                return null;
            }
            await socket.SendAsync(new RemoteFrame
            {
                Welcome = new Welcome
                {
                    ProtocolMajor = RemoteProtocol.Major,
                    ProtocolMinor = Math.Min(RemoteProtocol.Minor, hello.ProtocolMinor),
                    Capabilities = RemoteProtocol.Flag(capability),
                    RunnerId = hello.RunnerId,
                },
            }, cancellationToken).ConfigureAwait(false);
            return hello;
        }
    }

    private static string? CheckSpaces(Hello hello)
    {
        try
        {
            var observation = RemoteProtocol.FromSpec(hello.ObservationSpace);
            var action = RemoteProtocol.FromSpec(hello.ActionSpace);
            if (!EnvRegistry.Ids.Contains(hello.EnvId)) return null;
            var spec = EnvRegistry.Spec(hello.EnvId);
            if (!spec.ObservationSpace.Equals(observation) || !spec.ActionSpace.Equals(action))
                return $"{hello.EnvId}'s spaces differ: runner {observation} / {action}, trainer {spec.ObservationSpace} / {spec.ActionSpace}";
            return null;
        }
        catch (InvalidMessageException e)
        {
            return e.Reason;
        }
    }

    /// <summary>Counts a refused frame and tells the peer why; the connection stays open.</summary>
    internal async ValueTask RejectAsync(FrameSocket socket, string reason, RemoteErrorCode code, string message, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _rejectedFrames);
        _rejected?.WithLabels("remote", reason).Inc();
        try
        {
            await socket.SendAsync(RemoteProtocol.Error(code, message), cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException)
        {
            // The peer is gone; the count stands.
        }
    }

    /// <summary>Rejects and closes: the handshake cannot succeed.</summary>
    private async ValueTask RefuseAsync(FrameSocket socket, string reason, RemoteErrorCode code, string message, CancellationToken cancellationToken)
    {
        await RejectAsync(socket, reason, code, message, cancellationToken).ConfigureAwait(false);
        await socket.CloseAsync(message, awaitPeer: true).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Runners.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Connections that would not close in time are aborted by DisposeAsync below.
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
