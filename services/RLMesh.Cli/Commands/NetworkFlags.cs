using System.CommandLine;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Commands;

/// <summary>
/// The network flag family of commands that build a policy: `--backend auto|native|torch`, `--net mlp|minatar|nature`,
/// `--lstm N`, and `--observe i,j,...` (the agent sees only those observation elements). A network this build cannot
/// make (a torch-only preset with --backend native, or the torch backend when it is not built in) is a usage error (exit 2).
/// </summary>
internal sealed class NetworkFlags
{
    /// <summary>The backends this build of the CLI ships: native and torch (libtorch loads only when a torch network is built).</summary>
    public static NetworkFactory Networks => NetworkBackends.Create();

    public Option<string?> Backend { get; } = new("--backend") { Description = "Network engine: auto (native for MLPs on vector observations, torch otherwise), native or torch" };
    public Option<string?> Net { get; } = new("--net") { Description = "Torso preset: mlp (--hidden widths), minatar (conv for 10x10xC) or nature (Atari conv); conv presets need the torch backend" };
    public Option<int?> Lstm { get; } = new("--lstm") { Description = "LSTM core of this size between torso and heads (default 0: none); needs the torch backend" };
    public Option<string?> Observe { get; } = ObserveOption();

    public IEnumerable<Option> All => [Backend, Net, Lstm, Observe];

    /// <summary>`--observe`, also used alone by commands that build no network (eval, env trace).</summary>
    public static Option<string?> ObserveOption() =>
        new("--observe") { Description = "Show the agent only these observation elements, in this order, e.g. 0,2 (CartPole: cart position and pole angle)" };

    /// <summary>Parses `--observe`; a malformed list is a usage error.</summary>
    public static int[]? ParseObserve(ParseResult parse, Option<string?> option)
    {
        try { return ObservationSubset.Parse(parse.GetValue(option)); }
        catch (FormatException e) { throw new UsageException(e.Message); }
    }

    /// <summary>Applies the flags given to <paramref name="options"/> (unset flags keep its values).</summary>
    public TrainingOptions Apply(ParseResult parse, TrainingOptions options)
    {
        try
        {
            options = options with
            {
                Backend = parse.GetValue(Backend) is string b ? NetworkFactory.ParseBackend(b) : options.Backend,
                Net = parse.GetValue(Net) is string n ? NetworkFactory.ParseTorso(n) : options.Net,
                LstmSize = parse.GetValue(Lstm) ?? options.LstmSize,
                Observe = ParseObserve(parse, Observe) ?? options.Observe,
            };
        }
        catch (NetworkConfigurationException e)
        {
            throw new UsageException("--backend/--net: " + e.Message);
        }
        return options;
    }

    /// <summary>
    /// A usage error when this build cannot make the network <paramref name="options"/> describe. Call after the options
    /// validated (the observation subset and sizes are checked there).
    /// </summary>
    public static void EnsureBuildable(TrainingOptions options)
    {
        if (Networks.Problem(PolicyFactory.SpecFor(options)) is { } problem)
            throw new UsageException(problem);
    }
}
