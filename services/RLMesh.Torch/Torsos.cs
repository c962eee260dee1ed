using RLMesh.Core.Nn;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;
using F = TorchSharp.torch.nn.functional;

namespace RLMesh.Torch;

/// <summary>
/// One entry of a network's flat parameter layout: its slice name and shape, and the fan-in that scales its
/// initialisation (uniform in ±gain/sqrt(fanIn), PyTorch's default for Linear, Conv2d and, with fanIn = hidden size,
/// LSTMCell).
/// </summary>
internal sealed record TorchParameterSpec(string Name, int[] Shape, int FanIn, float Gain = 1f);

/// <summary>
/// The part of an actor-critic network between the (standardised) observation rows and the core or heads. Its
/// parameters are the first entries of the network's layout; <see cref="Forward"/> receives them in layout order.
/// </summary>
internal abstract class Torso
{
    /// <summary>Width of the feature rows the torso produces.</summary>
    public abstract int OutputWidth { get; }

    public abstract IReadOnlyList<TorchParameterSpec> Layout { get; }

    /// <summary>Feature rows [rows, OutputWidth] from observation rows [rows, ObservationSize].</summary>
    public abstract Tensor Forward(Tensor observations, ReadOnlySpan<Tensor> parameters);
}

/// <summary>
/// Fully connected layers with the spec's activation. Same slice names, [in, out] weight layout and initialisation
/// order as the native <see cref="ActorCriticNet"/>, so the two backends exchange MLP weights.
/// </summary>
internal sealed class MlpTorso : Torso
{
    private readonly Activation _activation;
    private readonly TorchParameterSpec[] _layout;

    public MlpTorso(int inputs, int[] hidden, Activation activation)
    {
        _activation = activation;
        var layout = new List<TorchParameterSpec>();
        int width = inputs;
        for (int l = 0; l < hidden.Length; l++)
        {
            layout.Add(new($"torso.{l}.weight", [width, hidden[l]], width));
            layout.Add(new($"torso.{l}.bias", [hidden[l]], width));
            width = hidden[l];
        }
        _layout = layout.ToArray();
        OutputWidth = width;
    }

    public override int OutputWidth { get; }
    public override IReadOnlyList<TorchParameterSpec> Layout => _layout;

    public override Tensor Forward(Tensor observations, ReadOnlySpan<Tensor> parameters)
    {
        Tensor x = observations;
        for (int p = 0; p < parameters.Length; p += 2)
        {
            using var affine = addmm(parameters[p + 1], x, parameters[p], beta: 1, alpha: 1);
            x = _activation == Activation.Tanh ? affine.tanh() : affine.relu();
        }
        return x;
    }
}

/// <summary>One convolution of a <see cref="ConvTorso"/>: output channels, square kernel, stride (no padding).</summary>
internal readonly record struct ConvLayer(int Channels, int Kernel, int Stride);

/// <summary>
/// Convolutions (each + ReLU) over a channels-last image [H, W, C], flattened into one dense layer + ReLU. Conv weights
/// are kept in torch's [out, in, kH, kW] layout; the dense weight in [in, out] like every Linear of ours.
/// </summary>
internal sealed class ConvTorso : Torso
{
    private readonly int _height, _width, _channels;
    private readonly ConvLayer[] _convs;
    private readonly TorchParameterSpec[] _layout;

    private ConvTorso(string preset, int[] shape, ConvLayer[] convs, int dense)
    {
        if (shape.Length != 3)
            throw new NetworkConfigurationException(
                $"the {preset} torso needs image observations [height, width, channels], got [{string.Join(", ", shape)}]");
        (_height, _width, _channels) = (shape[0], shape[1], shape[2]);
        _convs = convs;
        var layout = new List<TorchParameterSpec>();
        int h = _height, w = _width, c = _channels;
        for (int i = 0; i < convs.Length; i++)
        {
            var conv = convs[i];
            if (h < conv.Kernel || w < conv.Kernel)
                throw new NetworkConfigurationException(
                    $"the {preset} torso's {conv.Kernel}x{conv.Kernel} convolution does not fit a {_height}x{_width} observation");
            int fanIn = c * conv.Kernel * conv.Kernel;
            layout.Add(new($"torso.conv{i}.weight", [conv.Channels, c, conv.Kernel, conv.Kernel], fanIn));
            layout.Add(new($"torso.conv{i}.bias", [conv.Channels], fanIn));
            h = (h - conv.Kernel) / conv.Stride + 1;
            w = (w - conv.Kernel) / conv.Stride + 1;
            c = conv.Channels;
        }
        int flat = h * w * c;
        layout.Add(new("torso.fc.weight", [flat, dense], flat));
        layout.Add(new("torso.fc.bias", [dense], flat));
        _layout = layout.ToArray();
        OutputWidth = dense;
    }

    /// <summary>MinAtar's network (Young and Tian 2019): 16 3x3 filters, stride 1, then 128 units.</summary>
    public static ConvTorso MinAtar(int[] shape) => new("minatar", shape, [new(16, 3, 1)], 128);

    /// <summary>The Nature DQN torso (Mnih et al. 2015) for 84x84 frames: 32 8x8/4, 64 4x4/2, 64 3x3/1, then 512 units.</summary>
    public static ConvTorso Nature(int[] shape) => new("nature", shape, [new(32, 8, 4), new(64, 4, 2), new(64, 3, 1)], 512);

    public override int OutputWidth { get; }
    public override IReadOnlyList<TorchParameterSpec> Layout => _layout;

    public override Tensor Forward(Tensor observations, ReadOnlySpan<Tensor> parameters)
    {
        long rows = observations.shape[0];
        using var image = observations.view(rows, _height, _width, _channels);
        // The environment emits channels-last; conv2d wants NCHW.
        Tensor x = image.permute(0, 3, 1, 2);
        for (int i = 0; i < _convs.Length; i++)
        {
            long stride = _convs[i].Stride;
            using var input = x;
            using var convolved = F.conv2d(input, parameters[2 * i], parameters[2 * i + 1], strides: [stride, stride]);
            x = convolved.relu();
        }
        using var last = x;
        using var flat = last.flatten(1);
        int fc = 2 * _convs.Length;
        using var affine = addmm(parameters[fc + 1], flat, parameters[fc], beta: 1, alpha: 1);
        return affine.relu();
    }
}

/// <summary>
/// A user's own TorchSharp module as the torso. It receives observation rows shaped [rows, ..ObservationShape]
/// (images channels-last, as the environment emits them, after the spec's standardisation) and must return
/// [rows, OutputWidth]. Its parameters join the flat buffer as "torso.custom.{name}", initialised from the module's
/// own values.
/// </summary>
internal sealed class CustomTorso : Torso
{
    private readonly int[] _observationShape;
    private readonly TorchSharp.Modules.Parameter[] _parameters;
    private readonly TorchParameterSpec[] _layout;

    public CustomTorso(nn.Module<Tensor, Tensor> module, int outputWidth, int[] observationShape)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (outputWidth <= 0) throw new NetworkConfigurationException("a custom torso's output width must be positive");
        Module = module;
        OutputWidth = outputWidth;
        _observationShape = observationShape;
        var named = module.named_parameters().ToArray();
        _parameters = named.Select(p => p.parameter).ToArray();
        _layout = named.Select(p =>
        {
            int[] shape = p.parameter.shape.Select(d => checked((int)d)).ToArray();
            return new TorchParameterSpec($"torso.custom.{p.name}", shape.Length == 0 ? [1] : shape, 1);
        }).ToArray();
    }

    public nn.Module<Tensor, Tensor> Module { get; }
    public override int OutputWidth { get; }
    public override IReadOnlyList<TorchParameterSpec> Layout => _layout;

    /// <summary>The module's own parameter tensors, in layout order.</summary>
    public IReadOnlyList<TorchSharp.Modules.Parameter> Parameters => _parameters;

    public override Tensor Forward(Tensor observations, ReadOnlySpan<Tensor> parameters)
    {
        long[] shape = [observations.shape[0], .. _observationShape.Select(d => (long)d)];
        using var shaped = observations.view(shape);
        var features = Module.forward(shaped);
        if (features.dim() != 2 || features.shape[1] != OutputWidth)
            throw new InvalidOperationException(
                $"the custom torso returned shape [{string.Join(", ", features.shape)}], expected [rows, {OutputWidth}]");
        return features;
    }
}
