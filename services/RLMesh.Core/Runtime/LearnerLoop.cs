using System.Diagnostics;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Data;

namespace RLMesh.Core.Runtime;

/// <summary>
/// The learner side of a run, shared by the embedded trainer and the remote trainers: take a batch, update,
/// publish, count frames and episodes, feed lag and divergence to the reporter, and stop when the mean return
/// over the last <see cref="TrainingOptions.ReturnWindow"/> episodes reaches the target, at MaxFrames, or on
/// cancellation (which ends the run with what was reached, not with an exception).
/// </summary>
public static class LearnerLoop
{
    public static async Task<TrainingResult> RunAsync(TrainingOptions o, ILearner learner, IBatchSource batches,
        Func<int> queueDepth, Func<CancellationToken, ValueTask> publish, LearnerReporter reporter,
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
        // Rows for metrics.csv and the learning curve also come every 1/200 of the frame budget, so a run that
        // solves in a second still has a curve; progress lines stay once per report interval.
        long curveStep = Math.Max(1, o.MaxFrames / 200), nextCurveFrames = curveStep;
        int lagCount = 0;
        LearnerUpdateStats last = default;
        long published = learner.ActingVersion; // the caller published the starting parameters

        try
        {
            while (frames < o.MaxFrames && framesToSolve is null)
            {
                Trajectory batch;
                bool fresh;
                IReadOnlyList<Trajectory> parts;
                using (Spans.Source.StartActivity(Spans.Batch))
                    (batch, fresh, parts) = await batches.NextAsync(cancellationToken).ConfigureAwait(false);

                lagSum += reporter.Trained(parts, learner.Version);
                lagCount++;
                if (o.AnnealLearningRate)
                    learner.Optimizer.LearningRate = o.LearningRate * (float)Math.Max(0.0, 1.0 - (double)frames / o.MaxFrames);

                long updateStarted = Stopwatch.GetTimestamp();
                using (Spans.Source.StartActivity(Spans.Update))
                    last = learner.Update(batch);
                double updateSeconds = Stopwatch.GetElapsedTime(updateStarted).TotalSeconds;
                updates++;
                if (learner.ActingVersion != published)
                {
                    // Every update, unless the actors follow a slower copy (IMPACT's target): then once per copy.
                    await publish(cancellationToken).ConfigureAwait(false);
                    published = learner.ActingVersion;
                }
                // A reused batch (IMPACT) trains again but brings no new frames or episodes.
                if (!fresh) continue;
                frames += batch.Frames;

                foreach (var episode in batch.Episodes)
                {
                    window.Add(episode.Return);
                    episodes++;
                }
                await reporter.UpdatedAsync(learner, parts, last, updateSeconds, window.Mean, queueDepth(), cancellationToken).ConfigureAwait(false);
                if (window.IsFull && window.Mean >= target)
                {
                    framesToSolve = frames;
                    secondsToSolve = clock.Elapsed.TotalSeconds;
                }
                bool printDue = clock.Elapsed.TotalSeconds >= nextReport;
                if (printDue || frames >= nextCurveFrames)
                {
                    Report(print: printDue);
                    nextCurveFrames = frames + curveStep;
                    if (printDue) nextReport = clock.Elapsed.TotalSeconds + o.ReportIntervalSeconds;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The user stopped the run: report what was reached.
        }

        Report(print: true);
        return new TrainingResult(o, framesToSolve is not null, frames, clock.Elapsed.TotalSeconds,
            framesToSolve, secondsToSolve, window.Mean, updates, reports);

        void Report(bool print)
        {
            double seconds = clock.Elapsed.TotalSeconds;
            var loss = last.Loss;
            var report = new TrainingReport(frames, seconds, seconds > 0 ? frames / seconds : 0, episodes, window.Mean,
                lagCount > 0 ? lagSum / lagCount : 0, updates, loss.TotalLoss, loss.PolicyLoss, loss.BaselineLoss,
                loss.Entropy, loss.Kl, learner.Optimizer.LearningRate, queueDepth());
            lagSum = 0;
            lagCount = 0;
            reports.Add(report);
            if (print) onReport?.Invoke(report);
        }
    }
}
