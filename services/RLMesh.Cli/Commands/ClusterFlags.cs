using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RLMesh.Hosting;

namespace RLMesh.Cli.Commands;

/// <summary>
/// The flags `run`, `launch` and distributed `train` share, each mapped to a configuration key. Only flags given on
/// the command line enter the configuration, so they override the config file, which overrides RLMESH_* variables,
/// which override the defaults.
/// </summary>
internal sealed class ClusterFlags
{
    private readonly List<(Option<string?> Option, string Key)> _mapped = [];

    public ClusterFlags()
    {
        Config = new Option<string?>("--config") { Description = "JSON or YAML configuration file (flags override it; it overrides RLMESH_* variables)" };
        Set = new Option<string[]>("--set") { Description = "Any configuration key, e.g. --set Learner:CheckpointSeconds=5 (repeatable)", AllowMultipleArgumentsPerToken = false };
        Map("--run", "Run", "Run name: names the queues and Redis keys (default 'default')");
        Map("--env", "Env", "Environment id (default CartPole-v1)");
        Map("--broker", "Broker", "RabbitMQ URI, amqp://user:pass@host:port/");
        Map("--redis", "Redis", "Redis host:port (redis:// accepted)");
        Map("--redis-password", "RedisPassword", "Redis AUTH password");
        Map("--seed", "Seed", "Random seed");
        Map("--hidden", "Hidden", "Hidden layer sizes, e.g. 64,64");
        Map("--backend", "Backend", "Network engine: auto (default), native or torch");
        Map("--net", "Net", "Torso preset: mlp, minatar or nature (conv presets need the torch backend); default: the env's (minatar for MinAtar ids, else mlp)");
        Map("--lstm", "Lstm", "LSTM core size, default 0 (none; needs the torch backend)");
        Map("--observe", "Observe", "Show the agent only these observation elements, e.g. 0,2 (mode actors only)");
        Map("--unroll-length", "UnrollLength", "Steps per unroll (T), default 20");
        Map("--http-port", "HttpPort", "Port of /metrics, /healthz, /readyz, /stats (/status on the parameter server); 0: a free port");
        Map("--algo", "Algorithm", "impala (default), impact, ppo or vmpo; ppo is on-policy: runners wait for each new version, one unroll per runner per batch (launch sets --batch-unrolls to --runners, and --envs 8 --unroll-length 32 unless given)");
        Map("--sync", "Sync", "env-runner: when to pull weights: every-unroll (default), every-k, aps, aps-adaptive");
        Map("--sync-k", "SyncK", "every-k: pull every K unrolls (default 4)");
        Map("--aps-tau", "ApsTau", "aps: divergence threshold in nats (default 0.05; aps-adaptive: the initial tau)");
        Map("--aps-max-lag", "ApsMaxLag", "aps: pull anyway at this version lag (default 16)");
        Map("--staleness-target", "StalenessTarget", "aps-adaptive: mean policy lag the parameter server's tau controller holds (default 8)");
        Map("--prometheus-url", "PrometheusUrl", "aps-adaptive: the parameter server reads staleness from this Prometheus (default: the learner's lag in Redis)");
        Map("--mode", "Mode", "actors (default: runners hold a policy, unrolls go through RabbitMQ and replay) or central-inference (SEED: the learner serves actions; runners hold no model)");
        Map("--connect", "Runner:Connect", "env-runner, mode central-inference: the learner's inference URL, ws://HOST:PORT/rlmesh/v1/inference");
        Map("--inference-url", "Learner:InferenceUrl", "learner, mode central-inference: URL the inference endpoint binds (default http://0.0.0.0:8090)");
        Map("--id", "Runner:Id", "env-runner: runner id (default host-pid)");
        Map("--envs", "Runner:Envs", "env-runner: environments per runner, default 32");
        Map("--batch-unrolls", "Replay:BatchUnrolls", "replay: unrolls per learner batch, default 2");
        Map("--max-frames", "Learner:MaxFrames", "learner: stop after this many frames");
        Map("--target-return", "Learner:TargetReturn", "learner: stop when the 100-episode mean return reaches this");
        Map("--lr", "Learner:LearningRate", "learner: learning rate");
        Map("--checkpoint-dir", "Learner:CheckpointDir", "learner: checkpoint directory (resumed from on start)");
        Map("--checkpoint-seconds", "Learner:CheckpointSeconds", "learner: seconds between checkpoints, default 10");
        Map("--retain", "ParameterServer:RetainVersions", "parameter-server: weight versions kept in Redis, default 3");
    }

    public Option<string?> Config { get; }
    public Option<string[]> Set { get; }

    public void AddTo(Command command, params string[] except)
    {
        command.Options.Add(Config);
        command.Options.Add(Set);
        foreach (var (option, _) in _mapped)
            if (!except.Contains(option.Name))
                command.Options.Add(option);
    }

    /// <summary>Configuration keys from the flags given (and --set pairs).</summary>
    public Dictionary<string, string?> Values(ParseResult parse)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key) in _mapped)
        {
            if (parse.GetResult(option) is { Implicit: false } && parse.GetValue(option) is { } value)
                values[key] = value;
        }
        foreach (var pair in parse.GetValue(Set) ?? [])
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new UsageException($"--set expects KEY=VALUE, got '{pair}'");
            values[pair[..eq].Trim()] = pair[(eq + 1)..];
        }
        return values;
    }

    /// <summary>Builds the configured host builder, turning configuration mistakes into usage errors.</summary>
    public static Microsoft.AspNetCore.Builder.WebApplicationBuilder CreateBuilder(string? configFile, IReadOnlyDictionary<string, string?> values)
    {
        Microsoft.AspNetCore.Builder.WebApplicationBuilder builder;
        try
        {
            builder = ServiceDefaults.CreateBuilder(configFile, values);
            var cluster = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<ClusterOptions>(builder.Configuration) ?? new ClusterOptions();
            var errors = cluster.Validate();
            if (errors.Count > 0)
                throw new UsageException(string.Join(Environment.NewLine + "rlmesh: ", errors));
            // The role services resolve this factory (Torch:IntraOpThreads from the configuration).
            var networks = NetworkBackends.Create(builder.Configuration);
            if (networks.Problem(cluster.PolicySpec()) is { } problem)
                throw new UsageException(problem);
            builder.Services.AddSingleton(networks);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidOperationException or FormatException or YamlDotNet.Core.YamlException)
        {
            throw new UsageException(e.Message);
        }
        return builder;
    }

    private void Map(string name, string key, string description)
    {
        var option = new Option<string?>(name) { Description = description };
        _mapped.Add((option, key));
    }
}
