using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using RLMesh.Core.Runtime;
using RLMesh.EnvRunner;
using RLMesh.Learner;
using RLMesh.ParameterServer;
using RLMesh.Replay;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh train ... --broker amqp://... --redis host:port`: parameter server, learner, replay and one env-runner per
/// --actors in this process, talking only through RabbitMQ and Redis (the same services `rlmesh launch` runs apart).
/// </summary>
internal static class DistributedTrain
{
    public static async Task<int> RunAsync(TrainingOptions o, string broker, string redis, string? run, DirectoryInfo? outDir, CancellationToken cancellationToken)
    {
        run ??= $"train-{DateTime.UtcNow:yyyyMMddHHmmss}";
        string checkpoints = outDir?.FullName ?? Path.Combine(Path.GetTempPath(), $"rlmesh-{run}");
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Run"] = run,
            ["Env"] = o.EnvId,
            // The roles read the algorithm from the configuration root (replay and runners change for on-policy ppo).
            ["Algorithm"] = o.Algorithm,
            ["Seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["Broker"] = broker,
            ["Redis"] = redis,
            ["Hidden"] = string.Join(',', o.Hidden),
            ["Backend"] = RLMesh.Core.Nn.NetworkFactory.Name(o.Backend),
            ["Net"] = RLMesh.Core.Nn.NetworkFactory.Name(o.Net),
            ["Lstm"] = o.LstmSize.ToString(CultureInfo.InvariantCulture),
            ["Observe"] = o.Observe is null ? null : string.Join(',', o.Observe),
            ["UnrollLength"] = o.UnrollLength.ToString(CultureInfo.InvariantCulture),
            ["HttpPort"] = "0",
            ["Runner:Envs"] = o.EnvsPerActor.ToString(CultureInfo.InvariantCulture),
            ["Replay:BatchUnrolls"] = o.BatchUnrolls.ToString(CultureInfo.InvariantCulture),
            ["Learner:MaxFrames"] = o.MaxFrames.ToString(CultureInfo.InvariantCulture),
            ["Learner:TargetReturn"] = o.TargetReturn?.ToString(CultureInfo.InvariantCulture),
            ["Learner:LearningRate"] = o.LearningRate.ToString(CultureInfo.InvariantCulture),
            ["Learner:EntropyCost"] = o.Algorithm switch
            {
                AlgorithmDefaults.Impala => o.Impala.EntropyCost.ToString(CultureInfo.InvariantCulture),
                AlgorithmDefaults.Ppo => o.Ppo.EntropyCost.ToString(CultureInfo.InvariantCulture),
                AlgorithmDefaults.Impact => o.Impact.EntropyCost.ToString(CultureInfo.InvariantCulture),
                _ => null, // V-MPO has no entropy bonus
            },
            ["Learner:ImpactActorsFollowTarget"] = o.Algorithm == AlgorithmDefaults.Impact ? o.Impact.ActorsFollowTarget.ToString() : null,
            ["Learner:Optimizer"] = o.Optimizer.ToString().ToLowerInvariant(),
            ["Learner:CheckpointDir"] = checkpoints,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:RLMesh.Learner"] = "Information",
        };
        var builder = ClusterFlags.CreateBuilder(null, values);
        builder.AddParameterServer().AddLearner().AddReplay();
        for (int i = 0; i < o.Actors; i++)
            builder.AddEnvRunner($"{run}-runner-{i}");
        Console.WriteLine($"distributed training in one process: run {run}, {o.Actors} runners, checkpoints in {checkpoints}");
        LearnerStats? stats = null;
        int code = await RunCommand.RunHostAsync(builder, cancellationToken, app => stats = app.Services.GetRequiredService<LearnerStats>());
        if (stats is { } s)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.State}: v{s.Version}, {s.Frames} frames, {s.Updates} updates, {s.Episodes} episodes, mean return {(s.MeanReturn is double m ? m.ToString("F1", CultureInfo.InvariantCulture) : "-")}"));
        }
        return code;
    }
}
