using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

// Loss L = Σ w ⊙ y in double, so dL/dy = w. A Linear layer is linear in each parameter, so central
// differences are exact up to float rounding of the forward pass: tight tolerances are honest here.
public class LayerGradientTests
{
    private const int Batch = 5, In = 7, Out = 9;

    private static (ParameterBuffer Buffer, Linear Layer) NewLayer()
    {
        var buffer = new ParameterBuffer(Linear.Layout("fc", In, Out));
        var layer = new Linear(buffer, "fc");
        var rng = new Rng(11);
        layer.Initialize(ref rng);
        return (buffer, layer);
    }

    [Fact]
    public void LinearBackwardMatchesFiniteDifferencesForWeightsBiasAndInput()
    {
        var (buffer, layer) = NewLayer();
        float[] x = GradCheck.Random(1, Batch * In);
        float[] w = GradCheck.Random(2, Batch * Out);
        var y = new float[Batch * Out];
        double Loss()
        {
            layer.Forward(x, Batch, y);
            return GradCheck.Dot(w, y);
        }

        var dx = new float[Batch * In];
        buffer.ZeroGradients();
        layer.Backward(x, w, Batch, dx);

        GradCheck.AssertClose(buffer.Values, buffer.Gradients, Loss, 1e-2, 1e-4, 1e-3, "params");
        GradCheck.AssertClose(x, dx, Loss, 1e-2, 1e-4, 1e-3, "x");
    }

    [Fact]
    public void LinearBackwardAccumulatesParameterGradientsAndCanAccumulateTheInputGradient()
    {
        var (buffer, layer) = NewLayer();
        float[] x = GradCheck.Random(1, Batch * In);
        float[] w = GradCheck.Random(2, Batch * Out);
        var dx = new float[Batch * In];
        layer.Backward(x, w, Batch, dx);
        float[] once = buffer.Gradients.ToArray();
        float[] dxOnce = dx.ToArray();
        layer.Backward(x, w, Batch, dx, accumulateDx: true);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], buffer.Gradients[i], 1e-5 * (1 + Math.Abs(once[i])));
        for (int i = 0; i < dx.Length; i++) Assert.Equal(2 * dxOnce[i], dx[i], 1e-5 * (1 + Math.Abs(dxOnce[i])));
    }

    [Fact]
    public void LinearInitDrawsWeightsAndBiasWithinGainOverSqrtFanIn()
    {
        var buffer = new ParameterBuffer(Linear.Layout("fc", 64, 32));
        var layer = new Linear(buffer, "fc");
        var rng = new Rng(3);
        layer.Initialize(ref rng, gain: 0.01f);
        float bound = 0.01f / 8f;
        Assert.All(buffer.Values, v => Assert.InRange(v, -bound, bound));
        Assert.True(buffer.Values.Max() > 0.8f * bound && buffer.Values.Min() < -0.8f * bound);
    }

    [Fact]
    public void TanhBackwardMatchesFiniteDifferences()
    {
        float[] x = GradCheck.Random(5, 37, -2, 2);
        float[] w = GradCheck.Random(6, 37);
        var y = new float[37];
        double Loss()
        {
            Tanh.Forward(x, y);
            return GradCheck.Dot(w, y);
        }
        Tanh.Forward(x, y);
        var dx = new float[37];
        Tanh.Backward(y, w, dx);
        // Curvature makes the O(h²) truncation error visible: h = 1e-3 keeps it ~1e-6.
        GradCheck.AssertClose(x, dx, Loss, 1e-3, 1e-4, 1e-3, "x");
    }

    [Fact]
    public void ReLUBackwardMatchesFiniteDifferencesAwayFromZero()
    {
        float[] x = GradCheck.Random(7, 37, -2, 2);
        for (int i = 0; i < x.Length; i++) if (MathF.Abs(x[i]) < 0.05f) x[i] = 0.5f; // stay off the kink
        float[] w = GradCheck.Random(8, 37);
        var y = new float[37];
        double Loss()
        {
            ReLU.Forward(x, y);
            return GradCheck.Dot(w, y);
        }
        ReLU.Forward(x, y);
        var dx = new float[37];
        ReLU.Backward(y, w, dx);
        GradCheck.AssertClose(x, dx, Loss, 1e-2, 1e-5, 1e-4, "x");
        Assert.Contains(dx, v => v == 0f);
    }
}

public class TanhAccuracyTests
{
    [Fact]
    public void TanhIsWithinAFewFloatUlpsOfTheExactFunctionOverTheWholeRange()
    {
        const int n = 200_001;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1);
        x[0] = float.MinValue; x[1] = -1e-30f; x[2] = 1e-7f; x[n - 1] = float.MaxValue;
        var y = new float[n];
        Tanh.Forward(x, y);
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            double exact = Math.Tanh(x[i]);
            worst = Math.Max(worst, Math.Abs(y[i] - exact) / Math.Max(Math.Abs(exact), 1e-30));
            Assert.InRange(y[i], -1f, 1f);
        }
        Assert.True(worst < 5e-7, $"worst relative error {worst:G3}");
    }
}
