using RLMesh.Core.Nn;
using Xunit;

namespace RLMesh.Core.Tests.Nn;

public class OptimizerTests
{
    // 11 parameters: one full Vector256 block plus a scalar tail, so both code paths are checked.
    private static ParameterBuffer Buffer(float[] values)
    {
        var buffer = new ParameterBuffer([("p", [values.Length])]);
        values.CopyTo(buffer.Values, 0);
        return buffer;
    }

    private static readonly float[] Start = [0.5f, -1.2f, 3f, 0f, 0.25f, -0.75f, 2f, 1f, -2f, 0.1f, 0.9f];
    private static readonly float[][] Grads =
    [
        [0.3f, -0.1f, 2f, 0f, -0.5f, 1.5f, 0.05f, -3f, 0.7f, 0.2f, -0.01f],
        [-0.2f, 0.4f, 1f, 0.6f, -0.5f, 0.1f, -0.05f, 2f, 0.3f, -0.8f, 0.02f],
    ];

    public static TheoryData<float, bool> RmsPropSettings => new() { { 0f, false }, { 0.9f, false }, { 0f, true }, { 0.5f, true } };

    [Theory]
    [MemberData(nameof(RmsPropSettings))]
    public void RmsPropMatchesThePytorchFormulasWithEpsOutsideTheSquareRoot(float momentum, bool centered)
    {
        const double lr = 0.1, alpha = 0.9, eps = 0.01;
        var buffer = Buffer(Start);
        var opt = new RmsProp(buffer, (float)lr, (float)alpha, (float)eps, momentum, centered);
        double[] p = Start.Select(x => (double)x).ToArray();
        var v = new double[p.Length];
        var m = new double[p.Length];
        var buf = new double[p.Length];
        foreach (float[] g in Grads)
        {
            g.CopyTo(buffer.Gradients, 0);
            opt.Step();
            for (int i = 0; i < p.Length; i++)
            {
                v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
                double sq = v[i];
                if (centered)
                {
                    m[i] = alpha * m[i] + (1 - alpha) * g[i];
                    sq -= m[i] * m[i];
                }
                double avg = Math.Sqrt(sq) + eps;
                if (momentum > 0)
                {
                    buf[i] = momentum * buf[i] + g[i] / avg;
                    p[i] -= lr * buf[i];
                }
                else
                {
                    p[i] -= lr * g[i] / avg;
                }
            }
            for (int i = 0; i < p.Length; i++) Assert.Equal(p[i], buffer.Values[i], 5);
        }
    }

    [Fact]
    public void RmsPropFirstStepOnASingleParameterMatchesAHandComputation()
    {
        // g = 2, α = 0.99: v = 0.01·4 = 0.04, avg = 0.2 + 0.01 = 0.21, p = 1 − 0.01·2/0.21.
        var buffer = Buffer([1f]);
        buffer.Gradients[0] = 2f;
        new RmsProp(buffer, 0.01f).Step();
        Assert.Equal(1 - 0.01 * 2 / 0.21, buffer.Values[0], 6);
    }

    [Fact]
    public void AdamMatchesThePytorchFormulasWithBiasCorrection()
    {
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        var buffer = Buffer(Start);
        var opt = new Adam(buffer, (float)lr);
        double[] p = Start.Select(x => (double)x).ToArray();
        var m = new double[p.Length];
        var v = new double[p.Length];
        int t = 0;
        foreach (float[] g in Grads)
        {
            t++;
            g.CopyTo(buffer.Gradients, 0);
            opt.Step();
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                p[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
            for (int i = 0; i < p.Length; i++) Assert.Equal(p[i], buffer.Values[i], 5);
        }
        // Adam's first step moves every parameter with a non-zero gradient by about lr.
        Assert.Equal(2, opt.StepCount);
    }

    [Fact]
    public void OptimizerStateRoundTripsThroughExportAndImport()
    {
        foreach (Func<ParameterBuffer, Optimizer> make in new Func<ParameterBuffer, Optimizer>[]
                 {
                     b => new RmsProp(b, 0.1f, momentum: 0.9f, centered: true),
                     b => new Adam(b, 0.01f),
                 })
        {
            var a = Buffer(Start);
            var optA = make(a);
            Grads[0].CopyTo(a.Gradients, 0);
            optA.Step();

            var b = Buffer(a.Values);
            var optB = make(b);
            optB.ImportState(optA.ExportState());
            Grads[1].CopyTo(a.Gradients, 0);
            Grads[1].CopyTo(b.Gradients, 0);
            optA.Step();
            optB.Step();
            Assert.Equal(a.Values, b.Values);
            Assert.Equal(optA.ExportState(), optB.ExportState());
        }
    }

    [Fact]
    public void ClipGlobalNormScalesGradientsToTheMaxNormAndReturnsTheNormBeforeClipping()
    {
        float[] g = [3f, 4f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 12f]; // norm 13
        float norm = GradientClipping.ClipGlobalNorm(g, 1f);
        Assert.Equal(13f, norm, 5);
        double scale = 1.0 / (13.0 + 1e-6);
        Assert.Equal(3 * scale, g[0], 6);
        Assert.Equal(4 * scale, g[1], 6);
        Assert.Equal(12 * scale, g[9], 6);
    }

    [Fact]
    public void ClipGlobalNormLeavesGradientsUntouchedWhenUnderTheMaxNorm()
    {
        float[] g = [0.3f, -0.4f];
        float norm = GradientClipping.ClipGlobalNorm(g, 40f);
        Assert.Equal(0.5f, norm, 6);
        Assert.Equal([0.3f, -0.4f], g);
    }
}
