using System.Globalization;
using RLMesh.Messaging.RabbitMq;
using RLMesh.Messaging.Redis;

namespace RLMesh.Hosting;

/// <summary>
/// Settings every role shares, bound from the configuration root (keys in docs/operations.md). Two processes belong
/// to the same run when they agree on <see cref="Run"/>, <see cref="Broker"/> and <see cref="Redis"/>; the shapes
/// (<see cref="Env"/>, <see cref="Hidden"/>, <see cref="UnrollLength"/>) must agree too, or messages are refused.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>Names the run's queues (<c>rlmesh.{run}.unrolls</c>) and Redis keys (<c>rlmesh:{run}:*</c>).</summary>
    public string Run { get; set; } = "default";
    public string Env { get; set; } = "CartPole-v1";
    public ulong Seed { get; set; } = 1;
    /// <summary>amqp://user:pass@host:port/vhost</summary>
    public string Broker { get; set; } = "amqp://guest:guest@localhost:5672/";
    /// <summary>host:port (a redis:// prefix is accepted and stripped).</summary>
    public string Redis { get; set; } = "localhost:6379";
    public string? RedisPassword { get; set; }
    /// <summary>Hidden layer sizes of the policy/value MLP, comma separated.</summary>
    public string Hidden { get; set; } = "64,64";
    /// <summary>Network engine: auto, native or torch (as `rlmesh train --backend`); every role of a run must agree.</summary>
    public string Backend { get; set; } = "auto";
    /// <summary>Torso preset: mlp, minatar or nature (as `rlmesh train --net`); unset, the env's default (minatar for MinAtar ids, else mlp).</summary>
    public string? Net { get; set; }
    /// <summary>LSTM core size, 0 for none (as `rlmesh train --lstm`).</summary>
    public int Lstm { get; set; }
    /// <summary>Observation elements the agent sees, comma separated (as `rlmesh train --observe`); unset: all.</summary>
    public string? Observe { get; set; }
    /// <summary>T, steps per unroll; every runner of a run must use the same.</summary>
    public int UnrollLength { get; set; } = 20;
    /// <summary>Port of /healthz, /readyz, /stats (and /status on the parameter server); 0 turns HTTP off.</summary>
    public int HttpPort { get; set; } = 8080;
    /// <summary>
    /// Bound of the unroll queue, in messages. Small on purpose: a long queue only holds stale data, and every two
    /// queued unrolls add a version of policy lag (8 -> 4 took about 2 versions off the lag of CartPole runs here).
    /// </summary>
    public int UnrollQueueMaxLength { get; set; } = 4;
    /// <summary>
    /// Batches as persistent messages, so queued batches survive a broker restart. Off by default: a persistent publish
    /// is confirmed only after the broker's fsync, which bounded the cluster to about half its frames/s here, and a
    /// batch lost with a crashed broker costs no more than the unrolls drop-head discards anyway. Overflow never drops
    /// a batch either way (reject-publish).
    /// </summary>
    public bool PersistentBatches { get; set; }
    /// <summary>
    /// What a full unroll queue does: <c>drop-head</c> drops the oldest unroll (freshest data; runners never wait, which
    /// suits runners on their own machines) or <c>reject-publish</c> (runners wait for the learner, like the embedded
    /// mode's bounded queue; nothing is stepped in vain, which suits a shared machine, where it doubled the cluster's frames/s). Default reject-publish.
    /// </summary>
    public string UnrollOverflow { get; set; } = "reject-publish";
    /// <summary>
    /// Unrolls a runner may have published and not yet confirmed. 1: a runner steps its next unroll only once the
    /// previous one is in the queue. Under reject-publish every unconfirmed unroll is one waiting out a refusal and
    /// ageing meanwhile; with 4 per runner the learner trained on data about 21 versions old on CartPole here, with 1
    /// about 12, and the 100-episode mean stopped collapsing. A confirm costs a broker round trip (well under a
    /// millisecond locally), about the time of one unroll's steps.
    /// </summary>
    public ushort UnrollConfirmWindow { get; set; } = 1;
    /// <summary>Batches replay may have published and not yet confirmed (the same reasoning as <see cref="UnrollConfirmWindow"/>).</summary>
    public ushort BatchConfirmWindow { get; set; } = 1;
    /// <summary>Bound of the batch queue (reject-publish beyond it: replay waits, nothing is dropped).</summary>
    public int BatchQueueMaxLength { get; set; } = 1;

    /// <summary>
    /// The learner's algorithm (as `rlmesh train --algo`): impala, impact, ppo or vmpo. PPO is on-policy
    /// (<see cref="Synchronous"/>): every role reads this key and changes its behaviour for it.
    /// </summary>
    public string Algorithm { get; set; } = "impala";

    /// <summary>
    /// On-policy lockstep, derived from <see cref="Algorithm"/> (Core's <c>TrainingOptions.Synchronous</c>, set by PPO's
    /// defaults): runners wait for a new version after every unroll instead of following <see cref="Sync"/>, replay
    /// forms batches of one policy version (Replay:BatchUnrolls must be the number of runners), and the learner trains
    /// only on batches whose every part carries its current version (docs/distributed.md, "On-policy PPO").
    /// </summary>
    public bool Synchronous =>
        RLMesh.Core.Envs.EnvRegistry.Ids.Contains(Env)
        && RLMesh.Core.Runtime.AlgorithmDefaults.Names.Contains(Algorithm.ToLowerInvariant())
        && RLMesh.Core.Runtime.TrainingOptions.ForEnvironment(Env, Algorithm.ToLowerInvariant()).Synchronous;

    /// <summary>When runners pull weights: every-unroll, every-k, aps or aps-adaptive (as `rlmesh train --sync`; env RLMESH_SYNC).</summary>
    public string Sync { get; set; } = "every-unroll";
    /// <summary>every-k: K (RLMESH_SYNC_K). Unset: Core's default.</summary>
    public int? SyncK { get; set; }
    /// <summary>aps: tau in nats; aps-adaptive: the initial tau (RLMESH_APS_TAU).</summary>
    public double? ApsTau { get; set; }
    /// <summary>aps: pull anyway at this version lag (RLMESH_APS_MAX_LAG).</summary>
    public int? ApsMaxLag { get; set; }
    /// <summary>aps-adaptive: mean policy lag the parameter server's controller holds (RLMESH_STALENESS_TARGET).</summary>
    public double? StalenessTarget { get; set; }
    /// <summary>aps-adaptive: the parameter server reads staleness from this Prometheus' query API (RLMESH_PROMETHEUS_URL); unset: the learner's lag from Redis.</summary>
    public string? PrometheusUrl { get; set; }
    /// <summary>
    /// actors (default: env-runners hold a policy copy and send unrolls through RabbitMQ and replay) or central-inference
    /// (SEED RL: the learner hosts the inference server at Learner:InferenceUrl; env-runners dial Runner:Connect and hold no model).
    /// </summary>
    public string Mode { get; set; } = "actors";

    public bool CentralInference => Mode.Equals("central-inference", StringComparison.OrdinalIgnoreCase);

    /// <summary>Core's sync settings from <see cref="Sync"/> and its keys (the chart always sets tau and target, so they are not mode-checked here).</summary>
    public RLMesh.Core.Sync.SyncOptions SyncOptions()
    {
        var defaults = new RLMesh.Core.Sync.SyncOptions();
        return defaults with
        {
            Mode = RLMesh.Core.Sync.SyncOptions.Parse(Sync.Trim().ToLowerInvariant()) ?? throw new ArgumentException($"Sync must be every-unroll, every-k, aps or aps-adaptive, not '{Sync}'"),
            K = SyncK ?? defaults.K,
            Tau = ApsTau ?? defaults.Tau,
            MaxLag = ApsMaxLag ?? defaults.MaxLag,
            StalenessTarget = StalenessTarget ?? defaults.StalenessTarget,
        };
    }

    /// <summary>
    /// The policy network every role of the run builds, exactly as the learner does (its TrainingOptions: the
    /// algorithm's defaults for <see cref="Env"/> with this run's <see cref="Hidden"/>). Observation scaling and the
    /// initial log-std live in the spec, not in the weights, so a runner that built its network any other way would act
    /// with a different policy than the one the learner trains, whatever the version says.
    /// </summary>
    public RLMesh.Core.Nn.NetworkSpec PolicySpec() =>
        RLMesh.Core.Runtime.PolicyFactory.SpecFor(WithNetwork(RLMesh.Core.Runtime.TrainingOptions.ForEnvironment(Env, Algorithm.ToLowerInvariant()) with { Hidden = HiddenSizes() }));

    /// <summary><paramref name="options"/> with this run's <see cref="Backend"/>, <see cref="Net"/>, <see cref="Lstm"/> and <see cref="Observe"/>.</summary>
    public RLMesh.Core.Runtime.TrainingOptions WithNetwork(RLMesh.Core.Runtime.TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return options with
            {
                Backend = RLMesh.Core.Nn.NetworkFactory.ParseBackend(Backend),
                Net = Net is null ? options.Net : RLMesh.Core.Nn.NetworkFactory.ParseTorso(Net),
                LstmSize = Lstm,
                Observe = RLMesh.Core.Envs.ObservationSubset.Parse(Observe),
            };
        }
        catch (Exception e) when (e is RLMesh.Core.Nn.NetworkConfigurationException or FormatException)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    public int[] HiddenSizes()
    {
        var parts = Hidden.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw new ArgumentException($"Hidden must be positive integers separated by commas, got '{Hidden}'.");
        }
        return sizes;
    }

    /// <summary>
    /// The unroll queue as a runner (publisher) or replay (consumer) uses it. The confirm window is small on purpose:
    /// drop-head confirms every publish, so the window is the only thing that stops a fast runner from parking hundreds
    /// of unrolls in the broker's inbound buffers, each one adding policy lag. Under reject-publish a refused unroll ages
    /// while it waits, so it is retried every 20 ms at most, not every second.
    /// </summary>
    public RabbitMqOptions UnrollQueue(ushort prefetch = 16) => new()
    {
        ConfirmWindow = UnrollConfirmWindow,
        // Replay takes an unroll about every half millisecond; a refused unroll that sleeps 10 ms or more lets the queue
        // run dry behind it. 2 ms doubling to 20 ms keeps the queue topped up without a storm of refused publishes.
        RefusedRetryDelay = TimeSpan.FromMilliseconds(2),
        MaxRetryDelay = TimeSpan.FromMilliseconds(20),
        Uri = new Uri(Broker),
        RunName = Run,
        Kind = TrajectoryQueueKind.Unrolls,
        Overflow = UnrollOverflow.Equals("reject-publish", StringComparison.OrdinalIgnoreCase) ? OverflowPolicy.RejectPublish : OverflowPolicy.DropHead,
        Prefetch = prefetch,
        MaxLength = UnrollQueueMaxLength,
        // Unrolls are droppable, so they skip the disk: a broker restart loses the queued ones.
        PersistentMessages = false,
    };

    /// <summary>
    /// The batch queue: replay publishes with a window of 4 (refused ones retry), the learner prefetches 2. A refused
    /// batch is retried after 1 ms, doubling to 16 ms: the learner frees a slot every update (about a millisecond here),
    /// and the former 10 ms-to-1 s backoff left the learner waiting for batches about half the time.
    /// </summary>
    public RabbitMqOptions BatchQueue(ushort prefetch = 2) => new()
    {
        ConfirmWindow = BatchConfirmWindow,
        RefusedRetryDelay = TimeSpan.FromMilliseconds(1),
        Uri = new Uri(Broker),
        RunName = Run,
        Kind = TrajectoryQueueKind.Batches,
        Prefetch = prefetch,
        MaxLength = BatchQueueMaxLength,
        PersistentMessages = PersistentBatches,
    };

    /// <summary>The run's weight store; <paramref name="hints"/>: listen to version hints (readers that follow the weights).</summary>
    public RedisOptions WeightStore(bool collectOnPublish, bool hints = true) => new()
    {
        Configuration = RedisConfiguration,
        Password = string.IsNullOrEmpty(RedisPassword) ? null : RedisPassword,
        KeyPrefix = $"rlmesh:{Run}",
        CollectOnPublish = collectOnPublish,
        SubscribeToHints = hints,
    };

    private string RedisConfiguration =>
        Redis.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) ? Redis["redis://".Length..].TrimEnd('/') : Redis;

    /// <summary>Problems a user can act on; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(Broker, UriKind.Absolute, out var broker) || broker.Scheme is not ("amqp" or "amqps"))
            errors.Add($"Broker must be an amqp:// URI, got '{Broker}'");
        if (string.IsNullOrWhiteSpace(Redis))
            errors.Add("Redis must name host:port");
        if (string.IsNullOrEmpty(Run) || !Run.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            errors.Add($"Run '{Run}' must be ASCII letters, digits, '-' or '_'");
        if (!RLMesh.Core.Envs.EnvRegistry.Ids.Contains(Env))
            errors.Add($"unknown environment '{Env}' (known: {string.Join(", ", RLMesh.Core.Envs.EnvRegistry.Ids)})");
        if (UnrollLength < 1) errors.Add("UnrollLength must be at least 1");
        if (UnrollQueueMaxLength < 1 || BatchQueueMaxLength < 1) errors.Add("queue bounds must be at least 1");
        if (UnrollConfirmWindow < 1 || BatchConfirmWindow < 1) errors.Add("confirm windows must be at least 1");
        if (!UnrollOverflow.Equals("drop-head", StringComparison.OrdinalIgnoreCase) && !UnrollOverflow.Equals("reject-publish", StringComparison.OrdinalIgnoreCase))
            errors.Add($"UnrollOverflow must be drop-head or reject-publish, not '{UnrollOverflow}'");
        if (HttpPort is < 0 or > 65535) errors.Add("HttpPort must be 0..65535");
        if (!CentralInference && !Mode.Equals("actors", StringComparison.OrdinalIgnoreCase))
            errors.Add($"Mode must be actors or central-inference, not '{Mode}'");
        try
        {
            HiddenSizes();
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
        try
        {
            var network = WithNetwork(new RLMesh.Core.Runtime.TrainingOptions { EnvId = Env });
            if (network.LstmSize < 0) errors.Add("Lstm must be 0 (no LSTM) or a positive size");
            if (network.Observe is not null && RLMesh.Core.Envs.EnvRegistry.Ids.Contains(Env))
                RLMesh.Core.Envs.ObservationSubset.SpecOf(Env, network.Observe);
            if (network.LstmSize > 0 && !Algorithm.Equals("impala", StringComparison.OrdinalIgnoreCase) && !Algorithm.Equals("impact", StringComparison.OrdinalIgnoreCase))
                errors.Add($"Lstm trains with Algorithm impala or impact only, not {Algorithm}");
            if (network.Observe is not null && CentralInference)
                errors.Add("Observe applies to Mode actors only (central-inference runners announce the registry's spaces)");
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
        try
        {
            errors.AddRange(SyncOptions().Validate().Select(e => e.Replace("--sync-k", "SyncK", StringComparison.Ordinal)
                .Replace("--aps-tau", "ApsTau", StringComparison.Ordinal).Replace("--aps-max-lag", "ApsMaxLag", StringComparison.Ordinal)
                .Replace("--staleness-target", "StalenessTarget", StringComparison.Ordinal)));
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
        if (!RLMesh.Core.Runtime.AlgorithmDefaults.Names.Contains(Algorithm.ToLowerInvariant()))
            errors.Add($"Algorithm must be {string.Join(", ", RLMesh.Core.Runtime.AlgorithmDefaults.Names)}, not '{Algorithm}'");
        // SEED-style inference answers every step with the learner's newest parameters while the learner updates, so a
        // batch mixes versions by construction; an on-policy lockstep there would stall every env at every update.
        else if (Synchronous && CentralInference)
            errors.Add($"Algorithm {Algorithm} is on-policy and runs with Mode actors (runners wait for each new version); central inference runs impala, impact or vmpo");
        if (!string.IsNullOrEmpty(PrometheusUrl) && (!Uri.TryCreate(PrometheusUrl, UriKind.Absolute, out var prometheus) || prometheus.Scheme is not ("http" or "https")))
            errors.Add($"PrometheusUrl must be an absolute http(s) URL, not '{PrometheusUrl}'");
        return errors;
    }
}
