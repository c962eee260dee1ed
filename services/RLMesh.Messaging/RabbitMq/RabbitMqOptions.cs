namespace RLMesh.Messaging.RabbitMq;

/// <summary>Which stream of trajectories a queue carries; each kind has its own overflow default.</summary>
public enum TrajectoryQueueKind
{
    /// <summary>Actor unrolls. Stale data is worth little, so a full queue drops its oldest message.</summary>
    Unrolls,
    /// <summary>Learner batches made by the replay service. Never dropped: a full queue refuses publishes.</summary>
    Batches,
}

/// <summary>What the broker does when a queue reaches <see cref="RabbitMqOptions.MaxLength"/>.</summary>
public enum OverflowPolicy
{
    /// <summary>
    /// <c>x-overflow=drop-head</c>: the oldest message is dropped and the new one kept, so the learner always sees
    /// the freshest unrolls. Dropped messages are dead-lettered (x-death reason <c>maxlen</c>) into the bounded DLQ.
    /// </summary>
    DropHead,
    /// <summary>
    /// <c>x-overflow=reject-publish</c>: the broker nacks the publish; the publisher keeps the message, backs off and
    /// retries, so nothing is lost and producers slow down to the consumer's pace.
    /// </summary>
    RejectPublish,
}

/// <summary>Where and how a <see cref="RabbitMqTrajectoryQueue"/> talks to RabbitMQ. Bound from configuration.</summary>
public sealed class RabbitMqOptions
{
    public Uri Uri { get; set; } = new("amqp://guest:guest@localhost:5672/");

    /// <summary>Names this run's exchanges and queues (<c>rlmesh.{run}.unrolls</c>), so runs never share data.</summary>
    public string RunName { get; set; } = "default";

    public TrajectoryQueueKind Kind { get; set; } = TrajectoryQueueKind.Unrolls;

    /// <summary>Unacknowledged deliveries the broker may push to one consumer ahead of its handling.</summary>
    public ushort Prefetch { get; set; } = 32;

    /// <summary>Publishes that may await their broker confirm at once; a full window makes EnqueueAsync wait.</summary>
    public int ConfirmWindow { get; set; } = 256;

    /// <summary>
    /// Longest pause between retries of a refused or lost publish (the backoff doubles from 10 ms up to this). Keep it
    /// short for data that ages, such as unrolls under reject-publish: a retried unroll grows staler while it waits.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// First pause after the broker refused a publish because the queue is full (a reject-publish nack); it doubles per
    /// refusal up to 16 times this (and never beyond <see cref="MaxRetryDelay"/>). A refusal is ordinary back-pressure,
    /// so this should match how fast the consumer frees a slot: a pause much longer than one consumer step leaves the
    /// queue empty and the consumer idle after the slot frees. Lost connections keep the 10 ms doubling backoff.
    /// </summary>
    public TimeSpan RefusedRetryDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Queue length bound (<c>x-max-length</c>).</summary>
    public int MaxLength { get; set; } = 10_000;

    /// <summary>Null picks the kind's default: DropHead for unrolls, RejectPublish for batches.</summary>
    public OverflowPolicy? Overflow { get; set; }

    /// <summary>Bound of the dead-letter queue; it drops its oldest entries beyond this.</summary>
    public int DeadLetterMaxLength { get; set; } = 10_000;

    /// <summary>Persistent (delivery mode 2) messages survive a broker restart at the cost of disk writes.</summary>
    public bool PersistentMessages { get; set; } = true;

    /// <summary>How long DisposeAsync waits for outstanding confirms before giving up on them.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// During DisposeAsync's drain, a publish still refused by a full queue after this long is dropped instead of
    /// retried until <see cref="DrainTimeout"/>: a live consumer frees a slot within milliseconds, a stopped one never.
    /// </summary>
    public TimeSpan RefusedDrainGrace { get; set; } = TimeSpan.FromMilliseconds(500);

    public OverflowPolicy EffectiveOverflow =>
        Overflow ?? (Kind == TrajectoryQueueKind.Batches ? OverflowPolicy.RejectPublish : OverflowPolicy.DropHead);

    public string QueueName => $"rlmesh.{RunName}.{KindName}";
    public string ExchangeName => QueueName;
    public string DeadLetterExchangeName => $"{QueueName}.dlx";
    public string DeadLetterQueueName => $"{QueueName}.dlq";

    private string KindName => Kind == TrajectoryQueueKind.Batches ? "batches" : "unrolls";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Uri.Scheme is not ("amqp" or "amqps"))
            throw new ArgumentException($"RabbitMQ Uri must be amqp:// or amqps://, got '{Uri}'.", nameof(Uri));
        if (string.IsNullOrEmpty(RunName) || !RunName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException($"RunName '{RunName}' must be non-empty ASCII letters, digits, '-' or '_'.", nameof(RunName));
        if (Prefetch == 0)
            throw new ArgumentException("Prefetch must be at least 1 (0 means unbounded in AMQP).", nameof(Prefetch));
        ArgumentOutOfRangeException.ThrowIfLessThan(ConfirmWindow, 1, nameof(ConfirmWindow));
        ArgumentOutOfRangeException.ThrowIfLessThan(RefusedRetryDelay, TimeSpan.Zero, nameof(RefusedRetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLength, 1, nameof(MaxLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(DeadLetterMaxLength, 1, nameof(DeadLetterMaxLength));
    }
}
