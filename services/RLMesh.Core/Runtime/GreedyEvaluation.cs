using RLMesh.Core.Envs;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>Plays episodes with the policy's most likely action (argmax logits, or the Gaussian mean).</summary>
public static class GreedyEvaluation
{
    public static IReadOnlyList<double> Play(Checkpoint checkpoint, int episodes, ulong seed)
    {
        var net = checkpoint.CreateNetwork();
        var env = EnvRegistry.Make(checkpoint.EnvId);
        if (env.ObservationSize != net.Spec.ObservationSize)
            throw new InvalidCheckpointException($"checkpoint expects observations of size {net.Spec.ObservationSize}, {env.Id} has {env.ObservationSize}");
        var session = net.CreateInferenceSession();
        var observation = new float[env.ObservationSize];
        var policy = new float[net.PolicyOutputSize];
        var value = new float[1];
        var action = new float[env.ActionSize];
        var returns = new List<double>(episodes);
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(seed + (ulong)e, observation);
            double total = 0;
            while (true)
            {
                session.Evaluate(observation, 1, policy, value);
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
