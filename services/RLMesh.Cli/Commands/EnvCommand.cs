using System.CommandLine;
using System.Globalization;
using System.Text;
using RLMesh.Core.Envs;

namespace RLMesh.Cli.Commands;

/// <summary>`rlmesh env list|trace`: inspect environments and check their dynamics step by step.</summary>
public static class EnvCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List environment ids with their spaces");
        list.SetAction(_ =>
        {
            foreach (var spec in EnvRegistry.All)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{spec.Id,-26} observation {spec.ObservationSpace}  action {spec.ActionSpace}  max_episode_steps {(spec.MaxEpisodeSteps == int.MaxValue ? "none" : spec.MaxEpisodeSteps.ToString(CultureInfo.InvariantCulture))}  reward_threshold {(spec.RewardThreshold is float t ? t.ToString(CultureInfo.InvariantCulture) : "none")}"));
            }
            return ExitCodes.Ok;
        });

        var env = new Option<string>("--env") { Description = "Environment id", Required = true };
        var seed = new Option<ulong?>("--seed") { Description = "Reset with this seed, then play the actions (later episodes start from unseeded resets)" };
        var state = new Option<string>("--state") { Description = "Instead of --seed: start from this internal state, comma-separated (see README: state definitions)" };
        var actions = new Option<string>("--actions") { Description = "Actions, comma-separated; vector actions separated by ';'", Required = true };
        var observe = NetworkFlags.ObserveOption();
        var obsFormat = new Option<string>("--obs-format")
        {
            Description = "json: the observation as a JSON array; packed: a 0/1 (uint8) observation as hex bits, most significant first",
            DefaultValueFactory = _ => "json",
        };
        var trace = new Command("trace", "Step an environment from a seeded reset or a given internal state and print one JSON line per step")
        {
            env, seed, state, actions, obsFormat, observe,
        };
        trace.SetAction(parse =>
        {
            Env instance;
            try { instance = ObservationSubset.Make(parse.GetValue(env)!, NetworkFlags.ParseObserve(parse, observe)); }
            catch (ArgumentException ex) { throw new UsageException(ex.Message); }

            bool packed = parse.GetValue(obsFormat) switch
            {
                "json" => false,
                "packed" => true,
                var other => throw new UsageException($"--obs-format: '{other}' is not a format; use json or packed"),
            };
            if (packed && instance.ObservationSpace is not Box { IsBinary: true })
                throw new UsageException($"--obs-format packed needs a 0/1 uint8 observation; {instance.Id} observes {instance.ObservationSpace}");

            ulong? seedValue = parse.GetValue(seed);
            string? stateText = parse.GetValue(state);
            if (seedValue is not null && stateText is not null)
                throw new UsageException("--seed and --state exclude each other: --seed starts from a seeded reset, --state from a given state");
            if (seedValue is null && stateText is null)
                throw new UsageException("give --seed (a seeded reset) or --state (a given internal state)");

            double[]? initial = null;
            if (stateText is not null)
            {
                if (instance.StateSize == 0)
                    throw new UsageException($"{instance.Id} has no settable state; start it with --seed");
                initial = ParseNumbers(stateText, "--state");
                if (initial.Length != instance.StateSize)
                    throw new UsageException($"{instance.Id} has a state of {instance.StateSize} numbers, --state gave {initial.Length}");
            }
            var steps = ParseActions(parse.GetValue(actions)!, instance);

            var observation = new float[instance.ObservationSize];
            if (initial is not null)
            {
                instance.Reset(0UL, observation);
                instance.SetState(initial);
                for (int i = 0; i < steps.Count; i++)
                {
                    var outcome = instance.Step(steps[i], observation);
                    Console.WriteLine(TraceLine(observation, outcome, packed));
                    if ((outcome.Terminated || outcome.Truncated) && i < steps.Count - 1)
                    {
                        Console.Error.WriteLine($"rlmesh: the episode ended at step {i + 1}; the remaining {steps.Count - i - 1} actions were not applied");
                        break;
                    }
                }
                return ExitCodes.Ok;
            }

            instance.Reset(seedValue, observation);
            Console.WriteLine(ResetLine(observation, packed));
            for (int i = 0; i < steps.Count; i++)
            {
                var outcome = instance.Step(steps[i], observation);
                Console.WriteLine(TraceLine(observation, outcome, packed));
                // Like a Gymnasium loop: an ended episode is followed by an unseeded reset before the next action.
                if ((outcome.Terminated || outcome.Truncated) && i < steps.Count - 1)
                {
                    instance.Reset(null, observation);
                    Console.WriteLine(ResetLine(observation, packed));
                }
            }
            return ExitCodes.Ok;
        });

        return new Command("env", "Environments: list them, trace their dynamics") { list, trace };
    }

    internal static string TraceLine(ReadOnlySpan<float> observation, StepOutcome outcome, bool packed = false)
    {
        var line = new StringBuilder("{\"obs\": ");
        AppendObservation(line, observation, packed);
        line.Append(", \"reward\": ").Append(FormatNumber(outcome.Reward))
            .Append(", \"terminated\": ").Append(outcome.Terminated ? "true" : "false")
            .Append(", \"truncated\": ").Append(outcome.Truncated ? "true" : "false").Append('}');
        return line.ToString();
    }

    internal static string ResetLine(ReadOnlySpan<float> observation, bool packed)
    {
        var line = new StringBuilder("{\"reset\": true, \"obs\": ");
        AppendObservation(line, observation, packed);
        return line.Append('}').ToString();
    }

    private static void AppendObservation(StringBuilder line, ReadOnlySpan<float> observation, bool packed)
    {
        if (packed)
        {
            line.Append('"').Append(ObservationBits.PackToHex(observation)).Append('"');
            return;
        }
        line.Append('[');
        for (int i = 0; i < observation.Length; i++)
        {
            if (i > 0) line.Append(", ");
            line.Append(FormatNumber(observation[i]));
        }
        line.Append(']');
    }

    // Shortest round-trip text of the exact value (a float32 observation widened to double keeps its bits).
    private static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static double[] ParseNumbers(string text, string flag)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
                throw new UsageException($"{flag}: '{parts[i]}' is not a finite number");
        }
        return values;
    }

    private static List<float[]> ParseActions(string text, Env env)
    {
        string[] items = env.ActionSize == 1 && !text.Contains(';')
            ? text.Split(',', StringSplitOptions.TrimEntries)
            : text.Split(';', StringSplitOptions.TrimEntries);
        var result = new List<float[]>(items.Length);
        foreach (var item in items)
        {
            var numbers = ParseNumbers(item, "--actions");
            if (numbers.Length != env.ActionSize)
                throw new UsageException($"--actions: '{item}' has {numbers.Length} components, {env.Id} takes {env.ActionSize}");
            var action = numbers.Select(n => (float)n).ToArray();
            if (env.ActionSpace is Discrete d && (numbers[0] != Math.Floor(numbers[0]) || numbers[0] < 0 || numbers[0] >= d.N))
                throw new UsageException($"--actions: {item} is outside the action space {env.ActionSpace}");
            result.Add(action);
        }
        return result;
    }
}
