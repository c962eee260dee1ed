using RLMesh.Core.Envs;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>Builds the network an environment's spaces call for.</summary>
public static class PolicyFactory
{
    public static NetworkSpec SpecFor(Space observationSpace, Space actionSpace, int[] hidden, Activation activation, float initialLogStd = 0f)
    {
        PolicyHead head = actionSpace switch
        {
            Discrete d => new CategoricalHead(d.N),
            Box b => new GaussianHead(b.Size, initialLogStd),
            _ => throw new NotSupportedException($"action space {actionSpace} is not supported by the actor-critic policy yet"),
        };
        return new NetworkSpec(observationSpace.Size, hidden, activation, head);
    }

    public static NetworkSpec SpecFor(TrainingOptions options)
    {
        var spec = EnvRegistry.Spec(options.EnvId);
        return SpecFor(spec.ObservationSpace, spec.ActionSpace, options.Hidden, options.Activation, options.InitialLogStd);
    }
}
