using RabbitMQ.Client;
using RLMesh.Integration.Tests.Servers;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.RabbitMq;

namespace RLMesh.Integration.Tests;

[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqTrajectoryQueueTests(RabbitMqFixture broker)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ATrajectoryPublishedIsConsumedIdentical()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("roundtrip");
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        var sent = Samples.Unroll(seed: 42, steps: 80, envs: 16);

        await producer.EnqueueAsync(sent, cts.Token);
        await producer.FlushAsync(cts.Token);
        var received = await consumer.DequeueAsync(cts.Token);

        Samples.AssertIdentical(sent, received);
        await consumer.AcknowledgeAsync(cts.Token);
        Assert.Equal(0u, await consumer.GetBrokerDepthAsync(cts.Token));
    }

    [Fact]
    public async Task PublishingMoreThanTheConfirmWindowIsConfirmedAndDelivered()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("window");
        options.ConfirmWindow = 4;
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);

        for (int i = 0; i < 50; i++)
            await producer.EnqueueAsync(Samples.Unroll(seed: i), cts.Token);
        await producer.FlushAsync(cts.Token);

        Assert.Equal(50, producer.ConfirmedPublishes);
        var seen = new List<long>();
        for (int i = 0; i < 50; i++)
            seen.Add((await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task GarbageAndNaNLadenUnrollsAreDeadLetteredAndCountedWhileGoodOnesArrive()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("poison");
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        var reasons = new List<string>();
        consumer.InvalidMessageReceived += (_, e) => { lock (reasons) reasons.Add(e.Reason); };
        var poisoned = Samples.Unroll(seed: 2);
        poisoned.Rewards[3] = float.NaN;

        await producer.EnqueueAsync(Samples.Unroll(seed: 1), cts.Token);
        await producer.FlushAsync(cts.Token);
        await PublishRawAsync(options, [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0xFF], cts.Token);
        await PublishRawAsync(options, TrajectoryCodec.Encode(poisoned), cts.Token);
        await producer.EnqueueAsync(Samples.Unroll(seed: 3), cts.Token);
        await producer.FlushAsync(cts.Token);

        Assert.Equal(1, (await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        Assert.Equal(3, (await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        Assert.Equal(2, consumer.InvalidMessages);
        lock (reasons)
        {
            Assert.Equal(2, reasons.Count);
            Assert.Contains(reasons, r => r.Contains("rewards", StringComparison.Ordinal));
        }
        Assert.Equal(2u, await WaitForCountAsync(options.DeadLetterQueueName, 2, cts.Token));
    }

    [Fact]
    public async Task BitPackedUnrollsArriveAsTheirFloatsAndSpoiledOnesAreDeadLettered()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("bits");
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        producer.ObservationEncoding = RLMesh.Messaging.Protos.ObservationEncoding.Bits;
        var reasons = new List<string>();
        consumer.InvalidMessageReceived += (_, e) => { lock (reasons) reasons.Add(e.Reason); };
        var frames = Binary(Samples.Unroll(seed: 1, observationSize: 12));
        // 12 elements per observation: its second byte's low 4 bits are padding, which a sound sender leaves zero.
        var spoiled = RLMesh.Messaging.Protos.Unroll.Parser.ParseFrom(TrajectoryCodec.Encode(Binary(Samples.Unroll(seed: 2, observationSize: 12)),
            RLMesh.Messaging.Protos.ObservationEncoding.Bits));
        var bytes = spoiled.Observations.ToByteArray();
        bytes[1] |= 0x01;
        spoiled.Observations = Google.Protobuf.ByteString.CopyFrom(bytes);

        await producer.EnqueueAsync(frames, cts.Token);
        await producer.FlushAsync(cts.Token);
        await PublishRawAsync(options, Google.Protobuf.MessageExtensions.ToByteArray(spoiled), cts.Token);
        await producer.EnqueueAsync(Binary(Samples.Unroll(seed: 3, observationSize: 12)), cts.Token);
        await producer.FlushAsync(cts.Token);

        Samples.AssertIdentical(frames, await consumer.DequeueAsync(cts.Token));
        Assert.Equal(3, (await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        Assert.Equal(1, consumer.InvalidMessages);
        lock (reasons)
            Assert.Contains("bits set past its last element", Assert.Single(reasons), StringComparison.Ordinal);
    }

    private static RLMesh.Core.Data.Trajectory Binary(RLMesh.Core.Data.Trajectory unroll)
    {
        for (int i = 0; i < unroll.Observations.Length; i++)
            unroll.Observations[i] = unroll.Observations[i] > 0.5f ? 1f : 0f;
        return unroll;
    }

    [Fact]
    public async Task UnackedTrajectoriesAreRedeliveredAfterTheConsumerConnectionDies()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("redeliver");
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        var sent = Samples.Unroll(seed: 7);
        await producer.EnqueueAsync(sent, cts.Token);
        await producer.FlushAsync(cts.Token);

        var doomed = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        var first = await doomed.DequeueAsync(cts.Token);
        Samples.AssertIdentical(sent, first);
        await doomed.DisposeAsync(); // dies while "handling" it: no ack

        await using var survivor = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        Samples.AssertIdentical(sent, await survivor.DequeueAsync(cts.Token));
    }

    [Fact]
    public async Task AFullUnrollQueueDropsItsOldestAndKeepsTheFreshest()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("drophead");
        options.MaxLength = 3;
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        for (int i = 0; i < 6; i++)
            await producer.EnqueueAsync(Samples.Unroll(seed: i), cts.Token);
        await producer.FlushAsync(cts.Token);

        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        var seen = new List<long>();
        for (int i = 0; i < 3; i++)
            seen.Add((await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        Assert.Equal([3L, 4L, 5L], seen);
    }

    [Fact]
    public async Task AFullBatchQueueRefusesPublishesButNeverDropsABatch()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("batches");
        options.Kind = TrajectoryQueueKind.Batches;
        options.MaxLength = 3;
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        for (int i = 0; i < 6; i++)
            await producer.EnqueueAsync(Samples.Unroll(seed: i), cts.Token);

        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        var seen = new List<long>();
        for (int i = 0; i < 6; i++)
            seen.Add((await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        await producer.FlushAsync(cts.Token);

        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), seen.Order());
        Assert.True(producer.PublishRetries > 0, "the broker should have nacked publishes to the full queue");
    }

    [Fact]
    public async Task ClosingAProducerWhoseQueueStaysFullDropsTheRefusedPublishAfterTheGraceNotTheTimeout()
    {
        // A whole cluster stopping: the consumer is gone, the reject-publish queue is full, a publish is being
        // refused. Disposing must not wait the drain timeout for a confirm that cannot come.
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("drain");
        options.Kind = TrajectoryQueueKind.Batches;
        options.MaxLength = 1;
        options.ConfirmWindow = 4;
        options.DrainTimeout = TimeSpan.FromSeconds(10);
        options.RefusedDrainGrace = TimeSpan.FromMilliseconds(300);
        var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        for (int i = 0; i < 3; i++)
            await producer.EnqueueAsync(Samples.Unroll(seed: i), cts.Token);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await producer.DisposeAsync();
        Assert.InRange(clock.Elapsed, options.RefusedDrainGrace, options.DrainTimeout - TimeSpan.FromSeconds(2));

        // The first one stayed in the queue; the refused ones were dropped, not left to be published later.
        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        Assert.Equal(0L, (await consumer.DequeueAsync(cts.Token)).PolicyVersion);
        await consumer.AcknowledgeAsync(cts.Token);
        await Task.Delay(300, cts.Token);
        Assert.Equal(0u, await consumer.GetBrokerDepthAsync(cts.Token));
        Assert.Equal(0, consumer.Depth);
    }

    [Fact]
    public async Task DepthCountsTrajectoriesBufferedByTheConsumer()
    {
        using var cts = new CancellationTokenSource(Patience);
        var options = Options("depth");
        options.Prefetch = 5;
        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        for (int i = 0; i < 8; i++)
            await producer.EnqueueAsync(Samples.Unroll(seed: i), cts.Token);
        await producer.FlushAsync(cts.Token);

        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cts.Token);
        await consumer.StartConsumingAsync(cts.Token);
        while (consumer.Depth < 5)
            await Task.Delay(10, cts.Token);

        await Task.Delay(100, cts.Token);
        Assert.Equal(5, consumer.Depth); // the prefetch bounds the local buffer
        Assert.Equal(3u, await consumer.GetBrokerDepthAsync(cts.Token));
    }

    private RabbitMqOptions Options(string test) => new()
    {
        Uri = broker.AmqpUri,
        RunName = Samples.UniqueName(test),
        ConfirmWindow = 64,
    };

    private async Task PublishRawAsync(RabbitMqOptions options, byte[] body, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = broker.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        await channel.BasicPublishAsync(options.ExchangeName, options.QueueName, mandatory: true, new BasicProperties(), body, cancellationToken);
    }

    private async Task<uint> WaitForCountAsync(string queue, uint expected, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = broker.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        while (true)
        {
            var count = (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
            if (count >= expected)
                return count;
            await Task.Delay(20, cancellationToken);
        }
    }
}
