using System.Diagnostics;
using System.Text.Json;

namespace RLMesh.System.Tests;

/// <summary>
/// Learner:PublishIntervalSeconds: the learner updates as fast as batches come but sends Redis at most one snapshot per
/// interval (the newest), so Redis, the parameter server and the runners handle a few versions instead of every one.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class WeightPublishingTests(ServersFixture servers, ITestOutputHelper log)
{
    [Fact]
    public async Task TheLearnerPublishesAtMostOneSnapshotPerIntervalAndRunnersPullOnlyThose()
    {
        const double interval = 0.5, window = 4;
        await using var cluster = new Cluster(servers, log, "publish", new Dictionary<string, string>
        {
            ["Learner:PublishIntervalSeconds"] = "0.5",
        });
        cluster.StartAll(runners: 1);
        var learner = cluster.Role("learner");
        var runner = cluster.Role("env-runner");
        await cluster.WaitForStatusAsync("the learner training", s => Cluster.LearnerFrames(s) > 0, TimeSpan.FromSeconds(60));

        // The bound holds for the time between the two learner reads, which is the delay plus the /stats round trips.
        var clock = Stopwatch.StartNew();
        var (updates0, published0) = await LearnerCountsAsync(learner);
        await Task.Delay(TimeSpan.FromSeconds(window));
        // The runner first: whatever it pulled had been published by the time the learner answers.
        long runnerPulls = (await StatsOfAsync(runner)).GetProperty("rlmesh_weight_pulls_total").GetInt64();
        var (updates1, published1) = await LearnerCountsAsync(learner);
        double elapsed = clock.Elapsed.TotalSeconds;
        long updates = updates1 - updates0, published = published1 - published0;
        log.WriteLine($"{updates} updates, {published} snapshots published in {elapsed:F2} s; runner pulls {runnerPulls} of {published1} published");

        Assert.True(updates > 4 * (window / interval + 1), $"the learner should update far more often than it publishes: {updates} updates\n{cluster.Dump()}");
        Assert.InRange(published, 2, (long)Math.Floor(elapsed / interval) + 1);
        // A runner can only load versions that were published (each at most once), plus none other.
        Assert.InRange(runnerPulls, 1, published1);
    }

    private static async Task<(long Updates, long Published)> LearnerCountsAsync(RoleProcess learner)
    {
        var stats = await StatsOfAsync(learner);
        return (stats.GetProperty("rlmesh_learner_updates_total").GetInt64(), stats.GetProperty("snapshots_published").GetInt64());
    }

    /// <summary>The role's /stats body (keyed by its component).</summary>
    private static async Task<JsonElement> StatsOfAsync(RoleProcess role)
    {
        var body = await Cluster.StatsAsync(role) ?? throw new InvalidOperationException($"{role.Role}'s /stats did not answer");
        return body.EnumerateObject().Single().Value;
    }
}
