using System.Globalization;
using System.Security;
using System.Text;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Output;

/// <summary>A self-contained SVG of the 100-episode mean return against frames, with the target as a dashed line.</summary>
public static class LearningCurve
{
    private const double Width = 720, Height = 420, Left = 70, Right = 40, Top = 40, Bottom = 50;

    // 1, 2 or 5 times a power of ten: tick labels a person reads at a glance.
    private static double NiceStep(double rough)
    {
        if (!(rough > 0)) return 1;
        double power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double m = rough / power;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
    }

    public static string Svg(TrainingResult result)
    {
        var points = result.Reports.Where(r => r.MeanReturn is not null).Select(r => (x: (double)r.Frames, y: r.MeanReturn!.Value)).ToList();
        double target = result.Options.TargetReturn ?? double.NaN;
        double xMax = Math.Max(1, result.Frames);
        double yMin = points.Count > 0 ? points.Min(p => p.y) : 0, yMax = points.Count > 0 ? points.Max(p => p.y) : 1;
        if (double.IsFinite(target)) { yMin = Math.Min(yMin, target); yMax = Math.Max(yMax, target); }
        if (yMax - yMin < 1e-9) { yMin -= 1; yMax += 1; }
        double yStep = NiceStep((yMax - yMin) / 5);
        yMin = Math.Floor(yMin / yStep) * yStep;
        yMax = Math.Ceiling(yMax / yStep) * yStep;
        double xStep = NiceStep(xMax / 5);
        xMax = Math.Ceiling(xMax / xStep) * xStep;

        double X(double x) => Left + x / xMax * (Width - Left - Right);
        double Y(double y) => Top + (yMax - y) / (yMax - yMin) * (Height - Top - Bottom);
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        string title = SecurityElement.Escape($"{result.Options.Algorithm} on {result.Options.EnvId} (seed {result.Options.Seed})") ?? "";
        svg.Append($"<text x=\"{F(Width / 2)}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{title}</text>\n");
        svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Height - Bottom)}\" x2=\"{F(Width - Right)}\" y2=\"{F(Height - Bottom)}\" stroke=\"black\"/>\n");
        svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Top)}\" x2=\"{F(Left)}\" y2=\"{F(Height - Bottom)}\" stroke=\"black\"/>\n");
        for (double fx = 0; fx <= xMax + xStep / 2; fx += xStep)
            svg.Append($"<text x=\"{F(X(fx))}\" y=\"{F(Height - Bottom + 18)}\" text-anchor=\"middle\">{fx.ToString("N0", CultureInfo.InvariantCulture)}</text>\n");
        for (double fy = yMin; fy <= yMax + yStep / 2; fy += yStep)
        {
            svg.Append($"<text x=\"{F(Left - 6)}\" y=\"{F(Y(fy) + 4)}\" text-anchor=\"end\">{fy.ToString("G6", CultureInfo.InvariantCulture)}</text>\n");
            svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Y(fy))}\" x2=\"{F(Width - Right)}\" y2=\"{F(Y(fy))}\" stroke=\"#eee\"/>\n");
        }
        svg.Append($"<text x=\"{F(Width / 2)}\" y=\"{F(Height - 10)}\" text-anchor=\"middle\">environment frames</text>\n");
        svg.Append($"<text x=\"16\" y=\"{F(Height / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {F(Height / 2)})\">mean return (last 100 episodes)</text>\n");
        if (double.IsFinite(target))
        {
            svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Y(target))}\" x2=\"{F(Width - Right)}\" y2=\"{F(Y(target))}\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>\n");
            svg.Append($"<text x=\"{F(Width - Right)}\" y=\"{F(Y(target) - 5)}\" text-anchor=\"end\" fill=\"#d62728\">target {target.ToString("G", CultureInfo.InvariantCulture)}</text>\n");
        }
        if (points.Count > 0)
        {
            svg.Append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
            foreach (var (x, y) in points) svg.Append(F(X(x))).Append(',').Append(F(Y(y))).Append(' ');
            svg.Append("\"/>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
