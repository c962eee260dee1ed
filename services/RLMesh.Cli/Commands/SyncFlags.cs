using System.CommandLine;
using RLMesh.Core.Sync;

namespace RLMesh.Cli.Commands;

/// <summary>
/// The `--sync` flag family, shared by every command that runs actors/runners:
/// `--sync every-unroll|every-k|aps|aps-adaptive [--sync-k K] [--aps-tau X] [--aps-max-lag N] [--staleness-target N]`.
/// A flag that does not apply to the chosen mode is a usage error (exit 2), never silently ignored.
/// </summary>
internal sealed class SyncFlags
{
    public Option<string> Mode { get; } = new("--sync") { Description = "When actors take new weights: every-unroll (IMPALA baseline), every-k, aps, aps-adaptive", DefaultValueFactory = _ => "every-unroll" };
    public Option<int?> K { get; } = new("--sync-k") { Description = "every-k: pull every K unrolls (default 4)" };
    public Option<double?> Tau { get; } = new("--aps-tau") { Description = "aps: pull when the learner-measured KL(behaviour || current) exceeds this, in nats (default 0.1; aps-adaptive: the initial tau)" };
    public Option<int?> MaxLag { get; } = new("--aps-max-lag") { Description = "aps: pull anyway once the newest version is this many versions ahead (default 16)" };
    public Option<double?> StalenessTarget { get; } = new("--staleness-target") { Description = "aps-adaptive: mean policy lag in versions the tau controller holds (default 8)" };

    public IEnumerable<Option> All => [Mode, K, Tau, MaxLag, StalenessTarget];

    public SyncOptions Parse(ParseResult parse, SyncOptions defaults)
    {
        string text = parse.GetValue(Mode)!;
        var mode = SyncOptions.Parse(text)
            ?? throw new UsageException($"--sync must be every-unroll, every-k, aps or aps-adaptive, not '{text}'");
        int? k = parse.GetValue(K);
        double? tau = parse.GetValue(Tau);
        int? maxLag = parse.GetValue(MaxLag);
        double? target = parse.GetValue(StalenessTarget);
        bool apsMode = mode is SyncMode.Aps or SyncMode.ApsAdaptive;
        if (k is not null && mode != SyncMode.EveryK) throw new UsageException($"--sync-k applies to --sync every-k only, not {text}");
        if (tau is not null && !apsMode) throw new UsageException($"--aps-tau applies to --sync aps or aps-adaptive only, not {text}");
        if (maxLag is not null && !apsMode) throw new UsageException($"--aps-max-lag applies to --sync aps or aps-adaptive only, not {text}");
        if (target is not null && mode != SyncMode.ApsAdaptive) throw new UsageException($"--staleness-target applies to --sync aps-adaptive only, not {text}");
        var options = defaults with
        {
            Mode = mode,
            K = k ?? defaults.K,
            Tau = tau ?? defaults.Tau,
            MaxLag = maxLag ?? defaults.MaxLag,
            StalenessTarget = target ?? defaults.StalenessTarget,
        };
        var errors = options.Validate();
        if (errors.Count > 0) throw new UsageException(string.Join(Environment.NewLine + "rlmesh: ", errors));
        return options;
    }
}
