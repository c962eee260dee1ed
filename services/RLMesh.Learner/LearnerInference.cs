using RLMesh.Core.Algorithms;
using RLMesh.Core.Runtime;
using RLMesh.Remote.Hosting;
using RLMesh.Remote.Inference;

namespace RLMesh.Learner;

/// <summary>
/// Mode central-inference (SEED RL, docs/remote.md): the learner process hosts <see cref="RemoteServer"/> with an
/// <see cref="InferenceServer"/>; env-runners dial <see cref="Url"/>, send observations and get actions, and the unrolls the
/// inference server builds go straight into the learner's in-process queue (no RabbitMQ, no replay role). New weights
/// reach the inference server in process (<see cref="Publish"/>); they still go to Redis for the parameter server and status.
/// </summary>
public sealed class LearnerInference : IAsyncDisposable
{
    private readonly InMemoryWeightStore _weights;
    private readonly RemoteServer _server;
    private readonly InferenceServer _inference;

    private LearnerInference(InMemoryWeightStore weights, RemoteServer server, InferenceServer inference)
    {
        _weights = weights;
        _server = server;
        _inference = inference;
    }

    /// <summary>ws://host:port/rlmesh/v1/inference: what runners dial.</summary>
    public Uri Url => _server.InferenceUrl;
    public int Connections => _inference.Connections;

    /// <summary>Binds <paramref name="url"/> and serves runners with <paramref name="first"/>'s weights until the next <see cref="Publish"/>.</summary>
    public static async Task<LearnerInference> StartAsync(TrainingOptions o, ILearner learner, WeightSnapshot first, string url, ITrajectoryQueue queue, CancellationToken cancellationToken)
    {
        var weights = new InMemoryWeightStore();
        await weights.PublishAsync(first, cancellationToken).ConfigureAwait(false);
        var inference = new InferenceServer(learner.Network, weights, queue, new InferenceServerOptions { UnrollLength = o.UnrollLength, Seed = o.Seed });
        RemoteServer server;
        try
        {
            server = await RemoteServer.StartAsync(new RemoteServerOptions { Url = url, EnvId = o.EnvId }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await inference.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        server.Inference = inference;
        return new LearnerInference(weights, server, inference);
    }

    public void Publish(WeightSnapshot snapshot) => _weights.PublishAsync(snapshot, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        await _inference.DisposeAsync().ConfigureAwait(false);
    }
}
