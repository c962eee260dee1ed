using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RLMesh.Core;
using RLMesh.Core.Nn;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh bench network`: one network's cost on either backend, without an environment: a learner update (training
/// forward over T x B time-major rows, backward from fixed d(loss)/d(heads), global-norm clip 40, our RMSprop) and
/// acting forward passes at several batch sizes. Observations are synthetic (binary for MinAtar-shaped inputs).
/// </summary>
internal static class NetworkBench
{
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "auto | native | torch", DefaultValueFactory = _ => "torch" };
        var net = new Option<string>("--net") { Description = "mlp (4-64-64 tanh, CartPole-sized) | minatar (10x10x4) | nature (84x84x4)", DefaultValueFactory = _ => "minatar" };
        var lstm = new Option<int>("--lstm") { Description = "LSTM core units (0: none)", DefaultValueFactory = _ => 0 };
        var unroll = new Option<int>("--unroll-length") { Description = "T of the learner batch", DefaultValueFactory = _ => 20 };
        var envs = new Option<int>("--batch-envs") { Description = "B of the learner batch", DefaultValueFactory = _ => 32 };
        var act = new Option<string>("--act-batches") { Description = "Comma-separated acting batch sizes", DefaultValueFactory = _ => "16,32,128" };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (Torch:IntraOpThreads)", DefaultValueFactory = _ => 1 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per figure", DefaultValueFactory = _ => 2.0 };
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object on the last line" };
        var command = new Command("network", "One network's learner update (T x B, RMSprop) and acting forward cost, native or torch backend")
        {
            backend, net, lstm, unroll, envs, act, threads, seconds, json,
        };
        command.SetAction(parse =>
        {
            double budget = parse.GetValue(seconds);
            if (!(budget > 0)) throw new UsageException("--seconds must be positive");
            int t = parse.GetValue(unroll), b = parse.GetValue(envs);
            if (t < 1 || b < 1) throw new UsageException("--unroll-length and --batch-envs must be positive");
            if (parse.GetValue(lstm) < 0) throw new UsageException("--lstm must be zero or positive");
            int[] actBatches = ParseBatches(parse.GetValue(act)!);
            NetworkSpec spec;
            NetworkFactory factory;
            IActorCriticNetwork network;
            try
            {
                spec = Spec(NetworkFactory.ParseTorso(parse.GetValue(net)!), parse.GetValue(lstm)) with
                {
                    Backend = NetworkFactory.ParseBackend(parse.GetValue(backend)!),
                };
                factory = NetworkBackends.Create(new RLMesh.Torch.TorchOptions { IntraOpThreads = parse.GetValue(threads) });
                network = factory.Create(spec, seed: 1);
            }
            catch (NetworkConfigurationException e)
            {
                throw new UsageException(e.Message);
            }
            var figures = Run(network, parse.GetValue(net)!, t, b, actBatches, budget);
            foreach (var (key, value) in figures)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-24} {value}"));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(figures, JsonOutput));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static int[] ParseBatches(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var batches = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out batches[i]) || batches[i] < 1)
                throw new UsageException($"--act-batches: '{parts[i]}' is not a positive batch size");
        if (batches.Length == 0) throw new UsageException("--act-batches needs at least one batch size");
        return batches;
    }

    private static NetworkSpec Spec(NetworkTorso torso, int lstm) => torso switch
    {
        NetworkTorso.Mlp => new NetworkSpec(4, [64, 64], Activation.Tanh, new CategoricalHead(2)) { LstmSize = lstm },
        NetworkTorso.MinAtar => new NetworkSpec(10 * 10 * 4, [], Activation.ReLU, new CategoricalHead(6))
        {
            ObservationShape = [10, 10, 4], Torso = torso, LstmSize = lstm,
        },
        NetworkTorso.Nature => new NetworkSpec(84 * 84 * 4, [], Activation.ReLU, new CategoricalHead(6))
        {
            ObservationShape = [84, 84, 4], Torso = torso, LstmSize = lstm,
        },
        _ => throw new UsageException($"no bench network for {torso}"),
    };

    private static Dictionary<string, object> Run(IActorCriticNetwork net, string name, int steps, int columns, int[] actBatches, double seconds)
    {
        var spec = net.Spec;
        int rows = steps * columns;
        var rng = new Rng(5);
        float[] Draw(int count, bool binary) =>
            Enumerable.Range(0, count).Select(_ => binary ? (rng.NextFloat() < 0.1f ? 1f : 0f) : (float)rng.Uniform(-1, 1)).ToArray();
        bool binary = spec.Torso == NetworkTorso.MinAtar;
        float[] observations = Draw(rows * spec.ObservationSize, binary);
        float[] dPolicy = Draw(rows * net.PolicyOutputSize, false).Select(v => v / rows).ToArray();
        float[] dValue = Draw(rows, false).Select(v => v / rows).ToArray();
        var state = new float[columns * net.CoreStateSize];
        var starts = new bool[rows];
        var policy = new float[rows * net.PolicyOutputSize];
        var values = new float[rows];
        var optimizer = new RmsProp(net.Parameters, learningRate: 6e-4f);

        double updateMs = Measure(seconds, () =>
        {
            net.Parameters.ZeroGradients();
            net.Forward(observations, steps, columns, state, starts, policy, values);
            net.Backward(dPolicy, dValue);
            GradientClipping.ClipGlobalNorm(net.Parameters.Gradients, 40f);
            optimizer.Step();
        }) * 1000;

        var figures = new Dictionary<string, object>
        {
            ["backend"] = NetworkFactory.Name(net.Backend),
            ["network"] = spec.LstmSize > 0 ? $"{name} + LSTM {spec.LstmSize}" : name,
            ["parameters"] = net.Parameters.Count,
            ["batch"] = $"T={steps} x B={columns}",
            ["ms_per_update"] = Math.Round(updateMs, 3),
            ["samples_per_second"] = Math.Round(rows / (updateMs / 1000.0)),
        };
        var session = net.CreateInferenceSession();
        foreach (int batch in actBatches)
        {
            float[] actObservations = Draw(batch * spec.ObservationSize, binary);
            var actPolicy = new float[batch * net.PolicyOutputSize];
            var actValues = new float[batch];
            var actState = new float[batch * net.CoreStateSize];
            double us = Measure(seconds / actBatches.Length, () =>
                session.Evaluate(actObservations, batch, actState, actPolicy, actValues)) * 1e6;
            figures[$"us_per_act_batch{batch}"] = Math.Round(us, 1);
        }
        return figures;
    }

    /// <summary>Seconds per call of <paramref name="work"/>, after a warm-up of a quarter of the budget (at most 0.5 s).</summary>
    private static double Measure(double seconds, Action work)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < Math.Min(0.5, seconds / 4)) work();
        long calls = 0;
        clock.Restart();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            work();
            calls++;
        }
        return clock.Elapsed.TotalSeconds / calls;
    }
}
