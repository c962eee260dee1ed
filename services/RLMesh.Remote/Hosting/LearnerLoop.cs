using System.Diagnostics;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;
using RLMesh.Core.Runtime;

namespace RLMesh.Remote.Hosting;

/// <summary>
/// The learner side shared by the remote trainers: take a batch, update, publish, count frames and episodes,
/// stop at the target return or MaxFrames (the same rules as Core's EmbeddedTrainer, whose actors these
/// trainers replace with remote runners).
/// </summary>
internal static class LearnerLoop
{
    public static async Task<TrainingResult> RunAsync(TrainingOptions o, ILearner learner, IBatchSource batches, ITrajectoryQueue queue,
        Func<CancellationToken, ValueTask> publish, Func<IReadOnlyList<Trajectory>, CancellationToken, ValueTask>? updated,
        Action<TrainingReport>? onReport, CancellationToken cancellationToken)
    {
        double target = o.TargetReturn ?? double.PositiveInfinity;
        var clock = Stopwatch.StartNew();
        var window = new ReturnWindow(o.ReturnWindow);
        var reports = new List<TrainingReport>();
        long frames = 0, updates = 0;
        int episodes = 0;
        long? framesToSolve = null;
        double? secondsToSolve = null;
        double lagSum = 0, nextReport = o.ReportIntervalSeconds;
        int lagCount = 0;
        LearnerUpdateStats last = default;
        try
        {
            while (frames < o.MaxFrames && framesToSolve is null)
            {
                var (batch, fresh, parts) = await batches.NextAsync(cancellationToken).ConfigureAwait(false);
                foreach (var part in parts)
                {
                    lagSum += learner.Version - part.PolicyVersion;
                    lagCount++;
                }
                if (o.AnnealLearningRate)
                    learner.Optimizer.LearningRate = o.LearningRate * (float)Math.Max(0.0, 1.0 - (double)frames / o.MaxFrames);
                last = learner.Update(batch);
                updates++;
                await publish(cancellationToken).ConfigureAwait(false);
                if (!fresh) continue;
                frames += batch.Frames;
                foreach (var episode in batch.Episodes)
                {
                    window.Add(episode.Return);
                    episodes++;
                }
                if (updated is not null) await updated(parts, cancellationToken).ConfigureAwait(false);
                if (window.IsFull && window.Mean >= target)
                {
                    framesToSolve = frames;
                    secondsToSolve = clock.Elapsed.TotalSeconds;
                }
                if (clock.Elapsed.TotalSeconds >= nextReport)
                {
                    Report();
                    nextReport = clock.Elapsed.TotalSeconds + o.ReportIntervalSeconds;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The user stopped the run: report what was reached.
        }
        Report();
        return new TrainingResult(o, framesToSolve is not null, frames, clock.Elapsed.TotalSeconds,
            framesToSolve, secondsToSolve, window.Mean, updates, reports);

        void Report()
        {
            double seconds = clock.Elapsed.TotalSeconds;
            var loss = last.Loss;
            var report = new TrainingReport(frames, seconds, seconds > 0 ? frames / seconds : 0, episodes, window.Mean,
                lagCount > 0 ? lagSum / lagCount : 0, updates, loss.TotalLoss, loss.PolicyLoss, loss.BaselineLoss,
                loss.Entropy, loss.Kl, learner.Optimizer.LearningRate, queue.Depth);
            lagSum = 0;
            lagCount = 0;
            reports.Add(report);
            onReport?.Invoke(report);
        }
    }
}
