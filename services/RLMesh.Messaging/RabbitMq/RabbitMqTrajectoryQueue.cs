using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using RLMesh.Core.Data;
using RLMesh.Core.Runtime;
using RLMesh.Messaging.Codec;

namespace RLMesh.Messaging.RabbitMq;

/// <summary>
/// <see cref="ITrajectoryQueue"/> over one durable RabbitMQ queue per run and kind.
/// <para>
/// Publishing: one long-lived channel with tracked publisher confirms. <see cref="EnqueueAsync"/> returns once the
/// message is on the wire and holds a slot of the confirm window; the slot is freed when the broker confirms. A full
/// window makes EnqueueAsync wait (back-pressure). A nack (reject-publish on a full batch queue) or a lost connection
/// makes the message be retried with backoff until confirmed, so nothing is silently lost; <see cref="FlushAsync"/>
/// waits until everything enqueued so far is confirmed.
/// </para>
/// <para>
/// Consuming, and the ack seam: deliveries are decoded as they arrive (up to <see cref="RabbitMqOptions.Prefetch"/>
/// ahead) into a local buffer. <see cref="DequeueAsync"/> hands out the next one and leaves it unacknowledged; it is
/// acknowledged when the caller comes back for the next one (the next DequeueAsync call) or calls
/// <see cref="AcknowledgeAsync"/>. A consumer that dies while handling a trajectory therefore never acks it, and the
/// broker redelivers it to another consumer. Delivery is at-least-once.
/// Deliveries that fail decoding or validation are nacked without requeue (dead-lettered into <c>.dlq</c>), counted in
/// <see cref="InvalidMessages"/>, raised through <see cref="InvalidMessageReceived"/> and logged; the consumer goes on.
/// </para>
/// One instance holds one connection; producers and consumers normally use separate instances (separate processes).
/// </summary>
public sealed partial class RabbitMqTrajectoryQueue : ITrajectoryQueue, IAsyncDisposable
{
    private readonly RabbitMqOptions _options;
    private readonly IConnection _connection;
    private readonly ILogger _logger;
    private readonly BasicProperties _properties;
    private readonly SemaphoreSlim _window;
    private readonly SemaphoreSlim _setupGate = new(1, 1);
    private readonly SemaphoreSlim _ackGate = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Channel<Delivery> _buffer = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly List<Delivery> _handedOut = [];

    private IChannel? _publisher;
    private IChannel? _consumer;
    private Exception? _publishFault;
    private long _invalidMessages;
    private long _publishRetries;
    private long _confirmed;
    private int _epoch;
    private int _depth;
    private int _disposed;
    private long _drainStarted; // Stopwatch timestamp; 0 while not disposing

    private RabbitMqTrajectoryQueue(RabbitMqOptions options, IConnection connection, ILogger logger)
    {
        _options = options;
        _connection = connection;
        _logger = logger;
        _window = new SemaphoreSlim(options.ConfirmWindow, options.ConfirmWindow);
        _properties = new BasicProperties
        {
            ContentType = "application/x-protobuf",
            Type = "rlmesh.v1.Unroll",
            DeliveryMode = options.PersistentMessages ? DeliveryModes.Persistent : DeliveryModes.Transient,
        };
        // After a connection loss the broker requeues every unacked delivery, so what we buffered or handed out
        // under the old connection is stale: its tags mean nothing on the recovered channel.
        _connection.ConnectionShutdownAsync += (_, _) =>
        {
            Interlocked.Increment(ref _epoch);
            return Task.CompletedTask;
        };
    }

    /// <summary>Connects (with automatic connection and topology recovery) and declares the run's topology.</summary>
    public static async Task<RabbitMqTrajectoryQueue> ConnectAsync(
        RabbitMqOptions options, ILogger? logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var factory = new ConnectionFactory
        {
            Uri = options.Uri,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
        };
        var connection = await factory.CreateConnectionAsync($"rlmesh-{options.QueueName}", cancellationToken).ConfigureAwait(false);
        var queue = new RabbitMqTrajectoryQueue(options, connection, logger ?? NullLogger.Instance);
        try
        {
            await queue.DeclareTopologyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await queue.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return queue;
    }

    /// <summary>Raised on the consumer's dispatch thread for every dead-lettered delivery; keep handlers cheap.</summary>
    public event EventHandler<InvalidTrajectoryEventArgs>? InvalidMessageReceived;

    public RabbitMqOptions Options => _options;

    /// <summary>Deliveries rejected into the dead-letter queue because they failed decoding or validation.</summary>
    public long InvalidMessages => Interlocked.Read(ref _invalidMessages);

    /// <summary>Publishes retried after a broker nack or a lost connection.</summary>
    public long PublishRetries => Interlocked.Read(ref _publishRetries);

    /// <summary>Publishes the broker has confirmed.</summary>
    public long ConfirmedPublishes => Interlocked.Read(ref _confirmed);

    /// <summary>Decoded trajectories waiting in this consumer's local buffer (at most the prefetch).</summary>
    public int Depth => Volatile.Read(ref _depth);

    /// <summary>
    /// Consumer side: keep deliveries in their wire form (<see cref="EncodedUnroll"/>, fully validated) instead of decoding
    /// them into trajectories as they arrive. Set before consuming starts; either way both dequeue methods work (the other
    /// form is converted on demand), and invalid deliveries are dead-lettered the same.
    /// </summary>
    public bool ConsumeEncoded { get; set; }

    /// <summary>
    /// Producer side: how <see cref="EnqueueAsync(Trajectory, CancellationToken)"/> stores observations; set it from the
    /// env's observation space with <see cref="TrajectoryCodec.EncodingFor"/> (bits for MinAtar frames). Float32 by default.
    /// </summary>
    public Protos.ObservationEncoding ObservationEncoding { get; set; }

    public ValueTask EnqueueAsync(Trajectory trajectory, CancellationToken cancellationToken) =>
        PublishAsync(TrajectoryCodec.Encode(trajectory, ObservationEncoding), cancellationToken);

    /// <summary>Publishes an unroll (or batch) already in wire form, as <see cref="EnqueueAsync(Trajectory, CancellationToken)"/>.</summary>
    public ValueTask EnqueueAsync(EncodedUnroll unroll, CancellationToken cancellationToken) =>
        PublishAsync(unroll.ToByteArray(), cancellationToken);

    private async ValueTask PublishAsync(byte[] body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_publishFault is { } fault)
            throw new InvalidOperationException($"An earlier publish to {_options.QueueName} failed permanently.", fault);
        var channel = _publisher ?? await CreatePublisherAsync(cancellationToken).ConfigureAwait(false);
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        _ = PublishUntilConfirmedAsync(channel, body);
    }

    /// <summary>Waits until every message enqueued so far has been confirmed by the broker.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        int taken = 0;
        try
        {
            for (; taken < _options.ConfirmWindow; taken++)
                await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (taken > 0)
                _window.Release(taken);
        }
        if (_publishFault is { } fault)
            throw new InvalidOperationException($"A publish to {_options.QueueName} failed permanently.", fault);
    }

    public async ValueTask<Trajectory> DequeueAsync(CancellationToken cancellationToken)
    {
        var payload = await DequeuePayloadAsync(cancellationToken).ConfigureAwait(false);
        return payload as Trajectory ?? ((EncodedUnroll)payload).ToTrajectory();
    }

    /// <summary>As <see cref="DequeueAsync"/> (same acknowledgement seam), in wire form; cheapest with <see cref="ConsumeEncoded"/>.</summary>
    public async ValueTask<EncodedUnroll> DequeueEncodedAsync(CancellationToken cancellationToken)
    {
        var payload = await DequeuePayloadAsync(cancellationToken).ConfigureAwait(false);
        return payload as EncodedUnroll ?? EncodedUnroll.FromTrajectory((Trajectory)payload);
    }

    private async ValueTask<object> DequeuePayloadAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
        if (_consumer is null)
            await StartConsumingAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var delivery = await _buffer.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Decrement(ref _depth);
            if (delivery.Epoch != Volatile.Read(ref _epoch))
                continue;
            lock (_handedOut)
                _handedOut.Add(delivery);
            return delivery.Payload;
        }
    }

    /// <summary>
    /// Acknowledges every trajectory handed out by <see cref="DequeueAsync"/> so far. Called implicitly by the next
    /// DequeueAsync; call it directly when a trajectory is fully handled and no next one is wanted yet.
    /// </summary>
    public async ValueTask AcknowledgeAsync(CancellationToken cancellationToken)
    {
        Delivery[] pending;
        lock (_handedOut)
        {
            if (_handedOut.Count == 0)
                return;
            pending = [.. _handedOut];
            _handedOut.Clear();
        }
        var channel = _consumer!;
        int epoch = Volatile.Read(ref _epoch);
        await _ackGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var delivery in pending)
            {
                if (delivery.Epoch != epoch)
                    continue; // the broker has requeued it already
                try
                {
                    await channel.BasicAckAsync(delivery.Tag, multiple: false, cancellationToken).ConfigureAwait(false);
                }
                catch (AlreadyClosedException e)
                {
                    Log.AckLost(_logger, _options.QueueName, delivery.Tag, e.Message);
                }
            }
        }
        finally
        {
            _ackGate.Release();
        }
    }

    /// <summary>Starts the consumer now (DequeueAsync does it on first use); useful to fill the buffer early.</summary>
    public async Task StartConsumingAsync(CancellationToken cancellationToken)
    {
        await _setupGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_consumer is not null)
                return;
            var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.BasicQosAsync(0, _options.Prefetch, global: false, cancellationToken).ConfigureAwait(false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => OnReceivedAsync(channel, delivery);
            await channel.BasicConsumeAsync(_options.QueueName, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
            _consumer = channel;
        }
        finally
        {
            _setupGate.Release();
        }
    }

    /// <summary>Messages ready in the broker's queue (a passive declare; one round trip).</summary>
    public async Task<uint> GetBrokerDepthAsync(CancellationToken cancellationToken)
    {
        await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var ok = await channel.QueueDeclarePassiveAsync(_options.QueueName, cancellationToken).ConfigureAwait(false);
        await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        return ok.MessageCount;
    }

    /// <summary>
    /// Drains outstanding confirms (up to <see cref="RabbitMqOptions.DrainTimeout"/>) and closes the connection.
    /// A publish the broker keeps refusing because the queue is full for longer than
    /// <see cref="RabbitMqOptions.RefusedDrainGrace"/> of the drain is dropped: nobody is taking messages (a whole
    /// cluster stopping), and waiting out the timeout only delayed every shutdown by it.
    /// Trajectories handed out but not acknowledged are left to the broker, which redelivers them.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Volatile.Write(ref _drainStarted, System.Diagnostics.Stopwatch.GetTimestamp());
        if (_publisher is not null)
        {
            using var drain = new CancellationTokenSource(_options.DrainTimeout);
            try
            {
                await FlushAsync(drain.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
            {
                Log.DrainIncomplete(_logger, _options.QueueName, e.Message);
            }
        }
        await _lifetime.CancelAsync().ConfigureAwait(false);
        _buffer.Writer.TryComplete();
        try
        {
            await _connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationCanceledException or TimeoutException)
        {
            Log.CloseFailed(_logger, _options.QueueName, e.Message);
        }
        await _connection.DisposeAsync().ConfigureAwait(false);
        _lifetime.Dispose();
    }

    private async Task DeclareTopologyAsync(CancellationToken cancellationToken)
    {
        // Declarations are idempotent as long as the arguments match; a queue declared earlier with other
        // arguments (e.g. another MaxLength) fails with PRECONDITION_FAILED, which is a configuration error.
        await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.ExchangeDeclareAsync(_options.DeadLetterExchangeName, ExchangeType.Fanout, durable: true, autoDelete: false,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(_options.DeadLetterQueueName, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-max-length"] = _options.DeadLetterMaxLength,
                ["x-overflow"] = "drop-head",
            },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueBindAsync(_options.DeadLetterQueueName, _options.DeadLetterExchangeName, routingKey: "",
            cancellationToken: cancellationToken).ConfigureAwait(false);

        await channel.ExchangeDeclareAsync(_options.ExchangeName, ExchangeType.Direct, durable: true, autoDelete: false,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(_options.QueueName, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-max-length"] = _options.MaxLength,
                ["x-overflow"] = _options.EffectiveOverflow == OverflowPolicy.RejectPublish ? "reject-publish" : "drop-head",
                ["x-dead-letter-exchange"] = _options.DeadLetterExchangeName,
            },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueBindAsync(_options.QueueName, _options.ExchangeName, routingKey: _options.QueueName,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IChannel> CreatePublisherAsync(CancellationToken cancellationToken)
    {
        await _setupGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_publisher is not null)
                return _publisher;
            // A plain concurrency limiter is the in-flight window. The client's default ThrottlingRateLimiter would
            // also add delays of up to a second once half the window is in use, which throttles a healthy pipeline.
            var window = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = _options.ConfirmWindow,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
            var options = new CreateChannelOptions(
                publisherConfirmationsEnabled: true,
                publisherConfirmationTrackingEnabled: true,
                outstandingPublisherConfirmationsRateLimiter: window);
            _publisher = await _connection.CreateChannelAsync(options, cancellationToken).ConfigureAwait(false);
            return _publisher;
        }
        finally
        {
            _setupGate.Release();
        }
    }

    private async Task PublishUntilConfirmedAsync(IChannel channel, byte[] body)
    {
        var token = _lifetime.Token;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    // Mandatory: an unroutable message (topology gone) comes back as an error instead of vanishing.
                    await channel.BasicPublishAsync(_options.ExchangeName, _options.QueueName, mandatory: true,
                        _properties, body, token).ConfigureAwait(false);
                    Interlocked.Increment(ref _confirmed);
                    return;
                }
                catch (PublishException p) when (!p.IsReturn && RefusedPastDrainGrace())
                {
                    Log.PublishRefusedAtShutdown(_logger, _options.QueueName, _options.RefusedDrainGrace.TotalMilliseconds);
                    return;
                }
                catch (Exception e) when (IsRetryable(e) && !token.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _publishRetries);
                    var delay = e is PublishException ? RefusedBackoff(attempt) : Backoff(attempt);
                    // A nack from a full reject-publish queue is ordinary back-pressure, not a fault worth a warning.
                    if (e is PublishException)
                        Log.PublishRefused(_logger, _options.QueueName, attempt, delay.TotalMilliseconds);
                    else
                        Log.PublishRetry(_logger, _options.QueueName, attempt, delay.TotalMilliseconds, e.Message);
                    await Task.Delay(delay, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Log.PublishAbandoned(_logger, _options.QueueName);
        }
        catch (Exception e)
        {
            _publishFault ??= e;
            Log.PublishFailed(_logger, e, _options.QueueName);
        }
        finally
        {
            _window.Release();
        }
    }

    private bool RefusedPastDrainGrace()
    {
        long started = Volatile.Read(ref _drainStarted);
        return started != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(started) >= _options.RefusedDrainGrace;
    }

    private static bool IsRetryable(Exception e) => e switch
    {
        PublishException p => !p.IsReturn, // a nack: the queue refused it (reject-publish) or the broker failed to store it
        AlreadyClosedException or OperationInterruptedException => true, // connection lost; recovery is under way
        _ => false,
    };

    private TimeSpan RefusedBackoff(int attempt) => TimeSpan.FromTicks(Math.Min(
        _options.MaxRetryDelay.Ticks, _options.RefusedRetryDelay.Ticks << Math.Min(attempt - 1, 4)));

    private TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(_options.MaxRetryDelay.TotalMilliseconds, 5 * (1 << Math.Min(attempt, 10))));

    private async Task OnReceivedAsync(IChannel channel, BasicDeliverEventArgs delivery)
    {
        int epoch = Volatile.Read(ref _epoch);
        object payload;
        try
        {
            payload = ConsumeEncoded ? TrajectoryCodec.DecodeEncoded(delivery.Body.Span) : TrajectoryCodec.Decode(delivery.Body.Span);
        }
        catch (InvalidMessageException e)
        {
            await DeadLetterAsync(channel, delivery, e.Reason).ConfigureAwait(false);
            return;
        }
        Interlocked.Increment(ref _depth);
        if (!_buffer.Writer.TryWrite(new Delivery(delivery.DeliveryTag, epoch, payload)))
            Interlocked.Decrement(ref _depth); // disposed: the broker requeues it when the channel closes
    }

    private async Task DeadLetterAsync(IChannel channel, BasicDeliverEventArgs delivery, string reason)
    {
        Interlocked.Increment(ref _invalidMessages);
        Log.InvalidMessage(_logger, _options.QueueName, delivery.DeliveryTag, delivery.Body.Length, reason);
        await _ackGate.WaitAsync(_lifetime.Token).ConfigureAwait(false);
        try
        {
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: false, _lifetime.Token).ConfigureAwait(false);
        }
        catch (AlreadyClosedException e)
        {
            Log.AckLost(_logger, _options.QueueName, delivery.DeliveryTag, e.Message);
        }
        finally
        {
            _ackGate.Release();
        }
        try
        {
            InvalidMessageReceived?.Invoke(this, new InvalidTrajectoryEventArgs(_options.QueueName, delivery.DeliveryTag, delivery.Body.Length, reason));
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, e, _options.QueueName);
        }
    }

    /// <summary>One buffered delivery; Payload is a <see cref="Trajectory"/> or, with <see cref="ConsumeEncoded"/>, an <see cref="EncodedUnroll"/>.</summary>
    private readonly record struct Delivery(ulong Tag, int Epoch, object Payload);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Error,
            Message = "Dead-lettered invalid trajectory from {Queue} (delivery {DeliveryTag}, {Bytes} bytes): {Reason}")]
        public static partial void InvalidMessage(ILogger logger, string queue, ulong deliveryTag, int bytes, string reason);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Warning,
            Message = "Publish to {Queue} not confirmed (attempt {Attempt}); retrying in {DelayMs} ms: {Reason}")]
        public static partial void PublishRetry(ILogger logger, string queue, int attempt, double delayMs, string reason);

        [LoggerMessage(EventId = 2109, Level = LogLevel.Debug,
            Message = "Publish to {Queue} refused by the broker (queue full, attempt {Attempt}); retrying in {DelayMs} ms")]
        public static partial void PublishRefused(ILogger logger, string queue, int attempt, double delayMs);

        [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Publish to {Queue} failed permanently")]
        public static partial void PublishFailed(ILogger logger, Exception exception, string queue);

        // Information, not a warning: it is what every whole-cluster stop looks like (the consumers stop first).
        [LoggerMessage(EventId = 2110, Level = LogLevel.Information,
            Message = "Publish to {Queue} still refused (queue full) {GraceMs} ms into shutdown: dropped, nothing is consuming")]
        public static partial void PublishRefusedAtShutdown(ILogger logger, string queue, double graceMs);

        [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Publish to {Queue} abandoned unconfirmed at shutdown")]
        public static partial void PublishAbandoned(ILogger logger, string queue);

        [LoggerMessage(EventId = 2105, Level = LogLevel.Warning,
            Message = "Ack of delivery {DeliveryTag} on {Queue} lost (the broker will redeliver it): {Reason}")]
        public static partial void AckLost(ILogger logger, string queue, ulong deliveryTag, string reason);

        [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Not all publishes to {Queue} were confirmed before shutdown: {Reason}")]
        public static partial void DrainIncomplete(ILogger logger, string queue, string reason);

        [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Closing the connection for {Queue} failed: {Reason}")]
        public static partial void CloseFailed(ILogger logger, string queue, string reason);

        [LoggerMessage(EventId = 2108, Level = LogLevel.Error, Message = "An InvalidMessageReceived handler for {Queue} threw")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, string queue);
    }
}
