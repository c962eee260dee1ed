using RLMesh.Core.Envs;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>Plays episodes with the policy's most likely action (argmax logits, or the Gaussian mean).</summary>
public static class GreedyEvaluation
{
    /// <summary>
    /// Plays <paramref name="episodes"/> greedy episodes on the checkpoint's environment as its policy saw it in training
    /// (<see cref="Checkpoint.Observe"/>), with the network the checkpoint describes.
    /// </summary>
    public static IReadOnlyList<double> Play(Checkpoint checkpoint, int episodes, ulong seed, NetworkFactory? networks = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var net = checkpoint.CreateNetwork(networks);
        // The environment as the policy saw it in training.
        var env = ObservationSubset.Make(checkpoint.EnvId, checkpoint.Observe);
        if (env.ObservationSize != net.Spec.ObservationSize)
            throw new InvalidCheckpointException($"checkpoint expects observations of size {net.Spec.ObservationSize}, {env.Id} has {env.ObservationSize}");
        var session = net.CreateInferenceSession();
        var observation = new float[env.ObservationSize];
        var policy = new float[net.PolicyOutputSize];
        var value = new float[1];
        var action = new float[env.ActionSize];
        var returns = new List<double>(episodes);
        var coreState = new float[net.CoreStateSize]; // zero at every episode start
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(seed + (ulong)e, observation);
            Array.Clear(coreState);
            double total = 0;
            while (true)
            {
                session.Evaluate(observation, 1, coreState, policy, value);
                if (net.Spec.Head is CategoricalHead)
                    action[0] = Categorical.Greedy(policy);
                else
                    policy.AsSpan(0, env.ActionSize).CopyTo(action);
                var outcome = env.Step(action, observation);
                total += outcome.Reward;
                if (outcome.Terminated || outcome.Truncated) break;
            }
            returns.Add(total);
        }
        return returns;
    }
}
