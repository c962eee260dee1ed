using RLMesh.Core.Envs;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>Builds the network an environment's spaces call for.</summary>
public static class PolicyFactory
{
    public static NetworkSpec SpecFor(Space observationSpace, Space actionSpace, int[] hidden, Activation activation,
        float initialLogStd = 0f, bool scaleObservations = true)
    {
        PolicyHead head = actionSpace switch
        {
            Discrete d => new CategoricalHead(d.N),
            Box b => new GaussianHead(b.Size, initialLogStd),
            _ => throw new NotSupportedException($"action space {actionSpace} is not supported by the actor-critic policy yet"),
        };
        var spec = new NetworkSpec(observationSpace.Size, hidden, activation, head)
        {
            ObservationShape = observationSpace is Box shaped ? shaped.Shape : [observationSpace.Size],
        };
        if (scaleObservations && observationSpace is Box box && BoundsScaling(box) is var (shift, scale))
            spec = spec with { InputShift = shift, InputScale = scale };
        return spec;
    }

    /// <summary>
    /// Maps every observation element with finite bounds onto [-1, 1]; unbounded elements pass unchanged.
    /// Null when no element has finite bounds.
    /// </summary>
    public static (float[] Shift, float[] Scale)? BoundsScaling(Box box)
    {
        var low = box.Low;
        var high = box.High;
        var shift = new float[low.Length];
        var scale = new float[low.Length];
        bool any = false;
        for (int i = 0; i < low.Length; i++)
        {
            double lo = low[i], hi = high[i];
            if (double.IsFinite(lo) && double.IsFinite(hi) && hi > lo)
            {
                shift[i] = (float)((hi + lo) / 2);
                scale[i] = (float)(2 / (hi - lo));
                any = true;
            }
            else
            {
                scale[i] = 1f;
            }
        }
        return any ? (shift, scale) : null;
    }

    /// <summary>
    /// The network a run trains: the environment as the agent sees it (<see cref="TrainingOptions.Observe"/>), the MLP
    /// shape, and the backend, torso preset and LSTM size asked for (Auto stays Auto until a factory builds it).
    /// </summary>
    public static NetworkSpec SpecFor(TrainingOptions options)
    {
        var spec = options.EnvSpec();
        return SpecFor(spec.ObservationSpace, spec.ActionSpace, options.Hidden, options.Activation, options.InitialLogStd, options.ScaleObservations)
            with
            {
                Backend = options.Backend,
                Torso = options.Net,
                LstmSize = options.LstmSize,
            };
    }
}
