using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Torch.Tests;

/// <summary>The LSTM core: a training pass over a sequence is the acting steps replayed, resets included.</summary>
public class RecurrentCoreTests
{
    [Theory]
    [InlineData(NetworkTorso.Mlp)]
    [InlineData(NetworkTorso.MinAtar)]
    public void TrainingPassOverASequenceEqualsStepByStepActing(NetworkTorso torso)
    {
        var spec = torso == NetworkTorso.Mlp
            ? new NetworkSpec(6, [16], Activation.Tanh, new CategoricalHead(3)) { LstmSize = 8 }
            : TestData.MinAtar(channels: 2, actions: 3, lstm: 8);
        using var net = TorchActorCriticNetwork.Create(spec, seed: 3);
        const int steps = 4, columns = 3, rows = steps * columns;
        int stateSize = net.CoreStateSize;
        Assert.Equal(16, stateSize);
        float[] observations = TestData.Uniform(rows * spec.ObservationSize, 1, 0f, 1f);
        float[] initialState = TestData.Uniform(columns * stateSize, 2, -0.5f, 0.5f);
        var starts = new bool[rows];
        starts[1 * columns + 0] = true; // column 0 starts an episode at t = 1
        starts[3 * columns + 2] = true; // column 2 at t = 3

        var trainPolicy = new float[rows * net.PolicyOutputSize];
        var trainValue = new float[rows];
        net.Forward(observations, steps, columns, initialState, starts, trainPolicy, trainValue);

        var session = net.CreateInferenceSession();
        float[] state = (float[])initialState.Clone();
        var actPolicy = new float[columns * net.PolicyOutputSize];
        var actValue = new float[columns];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < columns; b++)
                if (starts[t * columns + b]) Array.Clear(state, b * stateSize, stateSize);
            session.Evaluate(observations.AsSpan(t * columns * spec.ObservationSize, columns * spec.ObservationSize),
                columns, state, actPolicy, actValue);
            for (int i = 0; i < actPolicy.Length; i++)
                Assert.Equal(trainPolicy[t * columns * net.PolicyOutputSize + i], actPolicy[i], 1e-5f);
            for (int b = 0; b < columns; b++)
                Assert.Equal(trainValue[t * columns + b], actValue[b], 1e-5f);
        }
    }

    [Fact]
    public void AnEpisodeStartForgetsTheState()
    {
        var spec = new NetworkSpec(3, [8], Activation.Tanh, new CategoricalHead(2)) { LstmSize = 4 };
        using var net = TorchActorCriticNetwork.Create(spec, seed: 5);
        float[] observation = TestData.Uniform(3, 1);
        float[] state = TestData.Uniform(8, 2);
        var fromState = new float[2];
        var fromZero = new float[2];
        var value = new float[1];
        net.Forward(observation, 1, 1, state, [false], fromState, value);
        net.Forward(observation, 1, 1, state, [true], fromZero, value);
        var zeroPolicy = new float[2];
        net.Forward(observation, 1, 1, new float[8], [false], zeroPolicy, value);

        Assert.NotEqual(fromState, fromZero);
        Assert.Equal(zeroPolicy, fromZero);
    }

    [Fact]
    public void AFeedForwardShorthandIsRefusedForARecurrentNetwork()
    {
        var spec = new NetworkSpec(3, [8], Activation.Tanh, new CategoricalHead(2)) { LstmSize = 4 };
        IActorCriticNetwork net = TorchActorCriticNetwork.Create(spec, seed: 5);
        Assert.Throws<InvalidOperationException>(() => net.Forward(new float[3], 1, new float[2], new float[1]));
    }
}
