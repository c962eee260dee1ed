using System.Globalization;

namespace RLMesh.System.Tests;

/// <summary>
/// APS in distributed mode (issue 4): with runners deciding from the learner's divergence on the Redis board, a cluster
/// must keep learning (before the fix its runners sat at the 32-version cap and the return collapsed) while pulling
/// weights for only a fraction of its unrolls. Asserts frames, pulls and returns only.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ApsClusterTests(ServersFixture servers, ITestOutputHelper log)
{
    private const long FrameBudget = 4_000_000;
    private const double TargetReturn = 200;

    [Fact]
    public async Task AnApsClusterLearnsCartPoleWhilePullingWeightsForFewerThanHalfItsUnrolls()
    {
        await using var cluster = new Cluster(servers, log, "aps", new Dictionary<string, string>
        {
            ["Sync"] = "aps",
            ["ApsTau"] = "0.5",
            ["Runner:Envs"] = "8",
            ["Learner:MaxFrames"] = FrameBudget.ToString(CultureInfo.InvariantCulture),
            ["Learner:TargetReturn"] = TargetReturn.ToString(CultureInfo.InvariantCulture),
        });
        cluster.Start("parameter-server");
        cluster.Start("learner");
        cluster.Start("replay");
        var runners = new[] { cluster.Start("env-runner", "runner-0"), cluster.Start("env-runner", "runner-1") };

        var done = await cluster.WaitForStatusAsync("learner finished",
            s => s.GetProperty("learner").GetProperty("state").GetString() is "solved" or "max-frames", TimeSpan.FromSeconds(85));
        long pulls = 0, unrolls = 0;
        foreach (var runner in runners)
        {
            var body = await Cluster.StatsAsync(runner) ?? throw new InvalidOperationException("a runner's /stats did not answer");
            var stats = body.EnumerateObject().Single().Value; // /stats is keyed by component
            pulls += stats.GetProperty("rlmesh_weight_pulls_total").GetInt64();
            unrolls += stats.GetProperty("unrolls").GetInt64();
        }
        var learner = done.GetProperty("learner");
        double meanReturn = learner.GetProperty("mean_return").GetDouble();
        log.WriteLine($"state {learner.GetProperty("state").GetString()}, frames {Cluster.LearnerFrames(done)}, mean return {meanReturn:F1}, pulls {pulls}, unrolls {unrolls}");

        Assert.Equal("solved", learner.GetProperty("state").GetString());
        Assert.True(meanReturn >= TargetReturn, $"mean return {meanReturn}");
        Assert.True(Cluster.LearnerFrames(done) <= FrameBudget + 100_000, $"frames {Cluster.LearnerFrames(done)}");
        Assert.True(unrolls > 0);
        Assert.True(pulls * 2 < unrolls, $"{pulls} pulls for {unrolls} unrolls");
    }
}
