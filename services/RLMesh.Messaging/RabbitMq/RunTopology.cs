using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace RLMesh.Messaging.RabbitMq;

/// <summary>
/// The broker objects one run declares: per kind (unrolls, batches) a queue and its exchange, a dead-letter queue and
/// its exchange. Queues are durable and named by run, so without cleaning up every experiment against a shared broker
/// leaves them behind (hundreds of idle queues after a day of runs here, and a slower broker).
/// </summary>
public static class RunTopology
{
    /// <summary>
    /// Deletes a finished run's queues and exchanges. What is still queued is stale by then; a dead-letter queue that
    /// holds messages is kept, with its exchange, for inspection. Returns the dead-letter queues kept and their counts.
    /// </summary>
    public static async Task<IReadOnlyList<(string Queue, uint Messages)>> DeleteFinishedRunAsync(Uri broker, string run, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = broker };
        await using var connection = await factory.CreateConnectionAsync($"rlmesh-cleanup-{run}", cancellationToken).ConfigureAwait(false);
        var kept = new List<(string, uint)>();
        foreach (var kind in new[] { TrajectoryQueueKind.Unrolls, TrajectoryQueueKind.Batches })
        {
            var names = new RabbitMqOptions { Uri = broker, RunName = run, Kind = kind };
            await OnFreshChannelAsync(connection, async ch =>
            {
                await ch.QueueDeleteAsync(names.QueueName, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                await ch.ExchangeDeleteAsync(names.ExchangeName, ifUnused: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
            uint deadLetters = 0;
            // A passive declare of a queue that does not exist closes the channel: each probe gets its own.
            await OnFreshChannelAsync(connection, async ch =>
                deadLetters = (await ch.QueueDeclarePassiveAsync(names.DeadLetterQueueName, cancellationToken).ConfigureAwait(false)).MessageCount).ConfigureAwait(false);
            if (deadLetters > 0)
            {
                kept.Add((names.DeadLetterQueueName, deadLetters));
                continue;
            }
            await OnFreshChannelAsync(connection, async ch =>
            {
                await ch.QueueDeleteAsync(names.DeadLetterQueueName, ifUnused: false, ifEmpty: true, cancellationToken: cancellationToken).ConfigureAwait(false);
                await ch.ExchangeDeleteAsync(names.DeadLetterExchangeName, ifUnused: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
        return kept;
    }

    private static async Task OnFreshChannelAsync(IConnection connection, Func<IChannel, Task> action)
    {
        await using var channel = await connection.CreateChannelAsync().ConfigureAwait(false);
        try
        {
            await action(channel).ConfigureAwait(false);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode is 404 or 406)
        {
            // Not there (never declared, or deleted already) or no longer empty: nothing to delete.
        }
    }
}
