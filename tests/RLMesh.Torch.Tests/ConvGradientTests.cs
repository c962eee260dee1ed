using RLMesh.Core.Nn;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace RLMesh.Torch.Tests;

/// <summary>
/// Gradients of the conv presets against central finite differences: the torsos alone in float64 (tight), and the
/// whole float32 network through the flat buffer, with an LSTM core and episode resets (loose, float32 rounding).
/// </summary>
public class ConvGradientTests
{
    [Fact]
    public void MinAtarTorsoGradientsMatchFiniteDifferencesInFloat64()
    {
        var torso = ConvTorso.MinAtar([10, 10, 3]);
        CheckTorsoInFloat64(torso, rows: 3, observationSize: 300, seed: 1);
    }

    [Fact]
    public void NatureTorsoGradientsMatchFiniteDifferencesInFloat64()
    {
        var torso = ConvTorso.Nature([36, 36, 2]);
        CheckTorsoInFloat64(torso, rows: 2, observationSize: 36 * 36 * 2, seed: 2);
    }

    private static void CheckTorsoInFloat64(Torso torso, int rows, int observationSize, int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var parameters = torso.Layout
            .Select(p => (rand(p.Shape.Select(d => (long)d).ToArray(), ScalarType.Float64, generator: generator) * 0.4 - 0.2)
                .requires_grad_(true))
            .ToArray();
        var observations = rand(new long[] { rows, observationSize }, ScalarType.Float64, generator: generator);
        var weights = randn(new long[] { rows, torso.OutputWidth }, ScalarType.Float64, generator: generator);

        double Loss()
        {
            using var noGrad = no_grad();
            using var output = torso.Forward(observations, parameters);
            return (output * weights).sum().item<double>();
        }

        using (var output = torso.Forward(observations, parameters))
            (output * weights).sum().backward();

        const double eps = 1e-6;
        var rng = new RLMesh.Core.Rng((ulong)seed);
        int checkedCount = 0;
        foreach (var parameter in parameters)
        {
            var flat = parameter.detach().view(-1);
            var gradient = parameter.grad!.view(-1);
            for (int k = 0; k < 6; k++)
            {
                long index = rng.NextInt((int)flat.shape[0]);
                double original = flat[index].item<double>();
                flat[index] = original + eps;
                double up = Loss();
                flat[index] = original - eps;
                double down = Loss();
                flat[index] = original;
                double numeric = (up - down) / (2 * eps);
                double analytic = gradient[index].item<double>();
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Max(1, Math.Abs(analytic)),
                    $"d/dparam[{index}]: autograd {analytic}, finite difference {numeric}");
                checkedCount++;
            }
        }
        Assert.Equal(6 * torso.Layout.Count, checkedCount);
    }

    [Fact]
    public void MinAtarWithLstmGradientsThroughTheFlatBufferMatchFiniteDifferences()
    {
        var spec = TestData.MinAtar(channels: 2, actions: 3, lstm: 8);
        using var net = TorchActorCriticNetwork.Create(spec, seed: 4);
        const int steps = 3, columns = 2, rows = steps * columns;
        float[] observations = TestData.Uniform(rows * spec.ObservationSize, 5, 0f, 1f);
        float[] state = TestData.Uniform(columns * net.CoreStateSize, 6, -0.5f, 0.5f);
        bool[] starts = [false, false, true, false, false, false]; // column 0 starts a new episode at t = 1
        float[] dPolicy = TestData.Uniform(rows * net.PolicyOutputSize, 7);
        float[] dValue = TestData.Uniform(rows, 8);

        net.Parameters.ZeroGradients();
        TestData.Loss(net, observations, steps, columns, state, starts, dPolicy, dValue);
        net.Backward(dPolicy, dValue);
        float[] analytic = (float[])net.Parameters.Gradients.Clone();

        int nonZero = 0;
        const float eps = 1e-3f; // small enough that few ReLU kinks are crossed, large enough for float32 rounding
        var rng = new RLMesh.Core.Rng(9);
        foreach (var slice in net.Parameters.Slices)
        {
            for (int k = 0; k < 3; k++)
            {
                int index = slice.Offset + rng.NextInt(slice.Length);
                float original = net.Parameters.Values[index];
                net.Parameters.Values[index] = original + eps;
                double up = TestData.Loss(net, observations, steps, columns, state, starts, dPolicy, dValue);
                net.Parameters.Values[index] = original - eps;
                double down = TestData.Loss(net, observations, steps, columns, state, starts, dPolicy, dValue);
                net.Parameters.Values[index] = original;
                double numeric = (up - down) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[index]) <= 2e-3 + 2e-2 * Math.Abs(analytic[index]),
                    $"{slice.Name}[{index - slice.Offset}]: backward {analytic[index]}, finite difference {numeric}");
                if (Math.Abs(analytic[index]) > 1e-4) nonZero++;
            }
        }
        // Most sampled entries carry a gradient, so the comparison above is not of zeros against noise.
        Assert.True(nonZero >= 2 * net.Parameters.Slices.Count, $"only {nonZero} sampled gradients are non-zero");
    }
}
