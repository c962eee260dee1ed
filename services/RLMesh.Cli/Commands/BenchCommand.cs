using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RLMesh.Core;
using RLMesh.Core.Algorithms;
using RLMesh.Core.Envs;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh bench env|infer|learner`: throughput (`bench algos`: see <see cref="BenchAlgosCommand"/>) figures on this machine. With --json the last line is
/// one JSON object, for scripts. Figures are single-threaded unless said otherwise.
/// </summary>
public static class BenchCommand
{
    // Figures are for people and scripts alike: keep '+' and friends readable.
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var bench = new Command("bench", "Measure throughput (env, infer, learner, transport), weight-sync policies (aps) and learning speed (algos)");
        bench.Subcommands.Add(EnvBenchCommand());
        bench.Subcommands.Add(Make("infer", "Policy inference + sampling, MLP 4-64-64-2, batch 1 and 64", BenchInfer));
        bench.Subcommands.Add(TransportBench.Create());
        bench.Subcommands.Add(LearnerCommand());
        bench.Subcommands.Add(NetworkBench.Create());
        bench.Subcommands.Add(ApsBench.Create());
        bench.Subcommands.Add(BenchAlgosCommand.Create());
        bench.Subcommands.Add(RemoteBench.RemoteEnv());
        bench.Subcommands.Add(RemoteBench.CentralInference());
        return bench;
    }

    private static Command Make(string name, string description, Func<double, Dictionary<string, object>> run) =>
        Make(new Command(name, description), (_, budget) => run(budget));

    private static Command EnvBenchCommand()
    {
        var envId = new Option<string>("--env") { Description = "Environment id (see `rlmesh env list`)", DefaultValueFactory = _ => "CartPole-v1" };
        var command = new Command("env", "Vector environment steps per second, 64 copies on one thread (CartPole-v1 unless --env)") { envId };
        return Make(command, (parse, seconds) =>
        {
            string id = parse.GetValue(envId)!;
            try { EnvRegistry.Spec(id); }
            catch (UnknownEnvironmentException ex) { throw new UsageException(ex.Message); }
            return BenchEnv(id, seconds);
        });
    }

    private static Command LearnerCommand()
    {
        var algo = new Option<string>("--algo") { Description = "The algorithm whose update (with its CartPole-v1 defaults) is timed", DefaultValueFactory = _ => AlgorithmDefaults.Impala };
        var unroll = new Option<int>("--unroll-length") { Description = "T of the batch", DefaultValueFactory = _ => 80 };
        var envs = new Option<int>("--batch-envs") { Description = "B of the batch", DefaultValueFactory = _ => 32 };
        var command = new Command("learner", "Learner update (IMPALA unless --algo), T=80 x B=32, MLP 4-64-64 + heads, the algorithm's optimizer and clip")
        {
            algo, unroll, envs,
        };
        return Make(command, (parse, seconds) =>
        {
            string name = parse.GetValue(algo)!;
            if (!AlgorithmDefaults.Names.Contains(name))
                throw new UsageException($"unknown algorithm '{name}' (available: {string.Join(", ", AlgorithmDefaults.Names)})");
            if (parse.GetValue(unroll) < 1 || parse.GetValue(envs) < 1)
                throw new UsageException("--unroll-length and --batch-envs must be positive");
            return BenchLearner(name, parse.GetValue(unroll), parse.GetValue(envs), seconds);
        });
    }

    private static Command Make(Command command, Func<ParseResult, double, Dictionary<string, object>> run)
    {
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object on the last line" };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per figure", DefaultValueFactory = _ => 2.0 };
        command.Options.Add(json);
        command.Options.Add(seconds);
        command.SetAction(parse =>
        {
            double budget = parse.GetValue(seconds);
            if (!(budget > 0)) throw new UsageException("--seconds must be positive");
            var figures = run(parse, budget);
            foreach (var (key, value) in figures)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-24} {value}"));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(figures, JsonOutput));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Dictionary<string, object> BenchEnv(string envId, double seconds)
    {
        const int envs = 64;
        var env = new VectorEnv(envId, envs);
        var observations = new float[envs * env.ObservationSize];
        var rewards = new float[envs];
        var terminated = new bool[envs];
        var truncated = new bool[envs];
        var autoreset = new bool[envs];
        // Pre-drawn random actions, so the figure is the environment's cost alone.
        int m = env.ActionSize;
        var actions = new float[1024 * envs * m];
        var rng = new Rng(7);
        for (int i = 0; i < 1024 * envs; i++) env.SingleActionSpace.Sample(ref rng, actions.AsSpan(i * m, m));
        env.Reset(1UL, observations);

        long steps = 0;
        var clock = Stopwatch.StartNew();
        double warmup = Math.Min(0.5, seconds / 4);
        bool measuring = false;
        while (true)
        {
            for (int k = 0; k < 1024; k++)
                env.Step(actions.AsSpan(k * envs * m, envs * m), observations, rewards, terminated, truncated, autoreset);
            if (!measuring && clock.Elapsed.TotalSeconds >= warmup)
            {
                measuring = true;
                steps = 0;
                clock.Restart();
                continue;
            }
            steps += 1024L * envs;
            if (measuring && clock.Elapsed.TotalSeconds >= seconds) break;
        }
        return new()
        {
            ["env"] = envId,
            ["num_envs"] = envs,
            ["steps_per_second"] = Math.Round(steps / clock.Elapsed.TotalSeconds),
        };
    }

    private static Dictionary<string, object> BenchInfer(double seconds)
    {
        var spec = new NetworkSpec(4, [64, 64], Activation.Tanh, new CategoricalHead(2));
        var net = NetworkFactory.NativeOnly.Create(spec, 1);
        return new()
        {
            ["network"] = "MLP 4-64-64-(2+1) tanh",
            ["us_per_call_batch1"] = Math.Round(MeasureInference(net, 1, seconds / 2), 3),
            ["us_per_call_batch64"] = Math.Round(MeasureInference(net, 64, seconds / 2), 3),
        };
    }

    private static double MeasureInference(IActorCriticNetwork net, int batch, double seconds)
    {
        var session = net.CreateInferenceSession();
        var rng = new Rng(3);
        var observations = new float[batch * 4];
        for (int i = 0; i < observations.Length; i++) observations[i] = (float)rng.Uniform(-0.05, 0.05);
        var logits = new float[batch * 2];
        var values = new float[batch];
        int sink = 0;
        long calls = 0;
        var clock = Stopwatch.StartNew();
        bool measuring = false;
        while (true)
        {
            for (int k = 0; k < 256; k++)
            {
                session.Evaluate(observations, batch, logits, values);
                for (int b = 0; b < batch; b++)
                    sink += Categorical.Sample(logits.AsSpan(2 * b, 2), ref rng);
            }
            if (!measuring && clock.Elapsed.TotalSeconds > Math.Min(0.3, seconds / 4))
            {
                measuring = true;
                calls = 0;
                clock.Restart();
                continue;
            }
            calls += 256;
            if (measuring && clock.Elapsed.TotalSeconds >= seconds) break;
        }
        GC.KeepAlive(sink);
        return clock.Elapsed.TotalMicroseconds / calls;
    }

    private static Dictionary<string, object> BenchLearner(string algo, int unroll, int batchEnvs, double seconds)
    {
        var options = TrainingOptions.ForEnvironment("CartPole-v1", algo);
        var spec = new NetworkSpec(4, [64, 64], Activation.Tanh, new CategoricalHead(2));
        var net = NetworkFactory.NativeOnly.Create(spec, 1);
        // A realistic batch: one real unroll of the CartPoles under the initial policy.
        var actor = new Actor("bench", new VectorEnv("CartPole-v1", batchEnvs), net.Clone(), unroll, 5);
        var batch = actor.Unroll();
        var learner = AlgorithmDefaults.CreateLearner(options, net, EmbeddedTrainer.CreateOptimizer(net, options));

        long updates = 0;
        var clock = Stopwatch.StartNew();
        bool measuring = false;
        while (true)
        {
            // As if the actors acted with the weights the learner last offered them (no lag): for IMPACT following its
            // target, the batch then carries pi_target's outputs, as most batches of a run do.
            batch.PolicyVersion = learner.ActingVersion;
            learner.Update(batch);
            if (!measuring && clock.Elapsed.TotalSeconds > Math.Min(0.5, seconds / 4))
            {
                measuring = true;
                updates = 0;
                clock.Restart();
                continue;
            }
            updates++;
            if (measuring && clock.Elapsed.TotalSeconds >= seconds) break;
        }
        double ms = clock.Elapsed.TotalMilliseconds / updates;
        return new()
        {
            ["algo"] = algo,
            ["network"] = "MLP 4-64-64-(2+1) tanh",
            ["batch"] = $"T={unroll} x B={batchEnvs}",
            ["ms_per_update"] = Math.Round(ms, 4),
            ["samples_per_second"] = Math.Round(unroll * batchEnvs / (ms / 1000.0)),
        };
    }
}
