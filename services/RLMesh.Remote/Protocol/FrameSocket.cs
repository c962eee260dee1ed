using System.Buffers;
using System.Net.WebSockets;
using Google.Protobuf;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;

namespace RLMesh.Remote.Protocol;

/// <summary>
/// One WebSocket carrying <see cref="RemoteFrame"/>s, one binary message per frame. Sends are serialised
/// (one writer at a time) and written from a reused buffer; receives assemble fragments in a reused buffer.
/// One reader at a time. Not owning the socket's lifetime beyond <see cref="DisposeAsync"/>.
/// </summary>
public sealed class FrameSocket : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _sendBuffer = new byte[4096];
    private byte[] _receiveBuffer = new byte[4096];

    public FrameSocket(WebSocket socket) => _socket = socket;

    public bool IsOpen => _socket.State == WebSocketState.Open;

    public async ValueTask SendAsync(RemoteFrame frame, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int size = frame.CalculateSize();
            if (_sendBuffer.Length < size) _sendBuffer = new byte[Math.Max(size, _sendBuffer.Length * 2)];
            frame.WriteTo(_sendBuffer.AsSpan(0, size));
            await _socket.SendAsync(_sendBuffer.AsMemory(0, size), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends raw bytes as one message (tests use it to send malformed frames).</summary>
    public async ValueTask SendRawAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// The next frame, or null when the peer closed the connection. A message that is not a valid frame throws
    /// <see cref="InvalidMessageException"/> and leaves the socket usable for the next message.
    /// </summary>
    public async ValueTask<RemoteFrame?> ReceiveAsync(CancellationToken cancellationToken)
    {
        int length = 0;
        while (true)
        {
            if (length == _receiveBuffer.Length)
            {
                if (length >= RemoteProtocol.MaxFrameBytes)
                {
                    await DrainMessageAsync(cancellationToken).ConfigureAwait(false);
                    throw new InvalidMessageException($"frame exceeds {RemoteProtocol.MaxFrameBytes} bytes");
                }
                Array.Resize(ref _receiveBuffer, Math.Min(_receiveBuffer.Length * 2, RemoteProtocol.MaxFrameBytes));
            }
            var result = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            length += result.Count;
            if (!result.EndOfMessage) continue;
            if (result.MessageType != WebSocketMessageType.Binary)
                throw new InvalidMessageException($"a {result.MessageType} message of {length} bytes; frames are binary protobuf");
            return RemoteProtocol.Parse(_receiveBuffer.AsSpan(0, length));
        }
    }

    private async ValueTask DrainMessageAsync(CancellationToken cancellationToken)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            ValueWebSocketReceiveResult r;
            do r = await _socket.ReceiveAsync(scratch.AsMemory(), cancellationToken).ConfigureAwait(false);
            while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Closes politely if possible (bounded wait). With <paramref name="awaitPeer"/> it also waits for the peer's
    /// close, so a refusal sent just before is read before the connection is torn down.
    /// </summary>
    public async ValueTask CloseAsync(string reason, bool awaitPeer = false)
    {
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, reason.Length > 100 ? reason[..100] : reason, timeout.Token).ConfigureAwait(false);
                var scratch = new byte[1024];
                while (awaitPeer && _socket.State == WebSocketState.CloseSent)
                {
                    var r = await _socket.ReceiveAsync(scratch.AsMemory(), timeout.Token).ConfigureAwait(false);
                    if (r.MessageType == WebSocketMessageType.Close) break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer is gone already; nothing to say goodbye to.
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        _sendLock.Dispose();
        return ValueTask.CompletedTask;
    }
}
