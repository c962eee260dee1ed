using System.Diagnostics;
using RLMesh.Core.Data;
using RLMesh.Core.Runtime;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Redis;

namespace RLMesh.Messaging.Benchmarks;

/// <summary>Throughput of the trajectory queue: a publish phase (confirmed) then a consume phase (one ack each).</summary>
public sealed record QueueThroughput(int Messages, int BytesPerMessage, TimeSpan PublishTime, TimeSpan ConsumeTime)
{
    public double PublishedPerSecond => Messages / PublishTime.TotalSeconds;
    public double ConsumedPerSecond => Messages / ConsumeTime.TotalSeconds;
    public double PublishedMegabytesPerSecond => PublishedPerSecond * BytesPerMessage / 1e6;
    public double ConsumedMegabytesPerSecond => ConsumedPerSecond * BytesPerMessage / 1e6;

    public override string ToString() =>
        $"{Messages} unrolls of {BytesPerMessage} B: published {PublishedPerSecond:F0}/s ({PublishedMegabytesPerSecond:F1} MB/s, confirmed), " +
        $"consumed {ConsumedPerSecond:F0}/s ({ConsumedMegabytesPerSecond:F1} MB/s, decoded + acked)";
}

/// <summary>Publish-to-load latency of weight snapshots: one publisher, one reader polling right after.</summary>
public sealed record SnapshotLatency(int Parameters, int Rounds, TimeSpan P50, TimeSpan P99, TimeSpan Max)
{
    public override string ToString() =>
        $"{Parameters} parameters ({Parameters * 4 / 1e6:F1} MB), {Rounds} rounds: publish->load p50 {P50.TotalMilliseconds:F1} ms, " +
        $"p99 {P99.TotalMilliseconds:F1} ms, max {Max.TotalMilliseconds:F1} ms";
}

/// <summary>
/// Hand-run measurements of the real transports (the CLI's <c>bench</c> command can call these). They create their
/// own exchanges/queues or keys under the names in the options given, so point them at a scratch run name or prefix.
/// </summary>
public static class TransportBenchmarks
{
    /// <summary>A CartPole-sized actor unroll: T=80, 16 envs, observation size 4, 2 logits.</summary>
    public static Trajectory RealisticUnroll(int steps = 80, int envs = 16, int observationSize = 4, int logits = 2)
    {
        var random = new Random(1234);
        var t = new Trajectory(steps, envs, observationSize, 1, logits) { PolicyVersion = 1, Source = "bench" };
        for (int i = 0; i < t.Observations.Length; i++)
            t.Observations[i] = (float)(random.NextDouble() * 2 - 1);
        for (int i = 0; i < t.Actions.Length; i++)
            t.Actions[i] = random.Next(logits);
        Array.Fill(t.Rewards, 1f);
        for (int i = 0; i < t.BehaviourPolicy.Length; i++)
            t.BehaviourPolicy[i] = (float)(random.NextDouble() * 2 - 1);
        Array.Fill(t.Valid, true);
        return t;
    }

    public static async Task<QueueThroughput> MeasureTrajectoryQueueAsync(
        RabbitMqOptions options, int messages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messages, 1);
        options.MaxLength = Math.Max(options.MaxLength, messages);
        var unroll = RealisticUnroll();
        int bytes = TrajectoryCodec.Encode(unroll).Length;

        await using var producer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cancellationToken).ConfigureAwait(false);
        await using var consumer = await RabbitMqTrajectoryQueue.ConnectAsync(options, null, cancellationToken).ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < messages; i++)
            await producer.EnqueueAsync(unroll, cancellationToken).ConfigureAwait(false);
        await producer.FlushAsync(cancellationToken).ConfigureAwait(false);
        var publishTime = clock.Elapsed;

        clock.Restart();
        for (int i = 0; i < messages; i++)
            await consumer.DequeueAsync(cancellationToken).ConfigureAwait(false);
        await consumer.AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
        var consumeTime = clock.Elapsed;

        return new QueueThroughput(messages, bytes, publishTime, consumeTime);
    }

    public static async Task<SnapshotLatency> MeasureWeightStoreAsync(
        RedisOptions options, int parameters, int rounds, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var values = new float[parameters];
        var random = new Random(99);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)random.NextDouble();

        await using var learner = await RedisWeightStore.ConnectAsync(options, null, cancellationToken).ConfigureAwait(false);
        await using var actor = await RedisWeightStore.ConnectAsync(options, null, cancellationToken).ConfigureAwait(false);
        long version = Math.Max(0, learner.LatestVersion + 1);

        // One untimed round warms up connections, JIT and Redis's allocator.
        await PublishAndLoadAsync(version++).ConfigureAwait(false);
        var samples = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            await PublishAndLoadAsync(version++).ConfigureAwait(false);
            samples[r] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(samples);
        return new SnapshotLatency(parameters, rounds,
            TimeSpan.FromMilliseconds(Percentile(samples, 0.50)),
            TimeSpan.FromMilliseconds(Percentile(samples, 0.99)),
            TimeSpan.FromMilliseconds(samples[^1]));

        async Task PublishAndLoadAsync(long v)
        {
            await learner.PublishAsync(new WeightSnapshot(v, values), cancellationToken).ConfigureAwait(false);
            var loaded = await actor.TryGetNewerAsync(v - 1, cancellationToken).ConfigureAwait(false);
            if (loaded?.Version != v)
                throw new InvalidOperationException($"Benchmark reader did not load version {v}.");
        }
    }

    private static double Percentile(double[] sorted, double q)
    {
        int index = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
