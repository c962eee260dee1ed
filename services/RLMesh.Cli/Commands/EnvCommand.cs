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
                    $"{spec.Id,-26} observation {spec.ObservationSpace}  action {spec.ActionSpace}  max_episode_steps {spec.MaxEpisodeSteps}  reward_threshold {(spec.RewardThreshold is float t ? t.ToString(CultureInfo.InvariantCulture) : "none")}"));
            }
            return ExitCodes.Ok;
        });

        var env = new Option<string>("--env") { Description = "Environment id", Required = true };
        var state = new Option<string>("--state") { Description = "Initial internal state, comma-separated (see README: state definitions)", Required = true };
        var actions = new Option<string>("--actions") { Description = "Actions, comma-separated; vector actions separated by ';'", Required = true };
        var observe = NetworkFlags.ObserveOption();
        var trace = new Command("trace", "Step an environment from a given internal state and print one JSON line per step") { env, state, actions, observe };
        trace.SetAction(parse =>
        {
            Env instance;
            try { instance = ObservationSubset.Make(parse.GetValue(env)!, NetworkFlags.ParseObserve(parse, observe)); }
            catch (ArgumentException ex) { throw new UsageException(ex.Message); }

            double[] initial = ParseNumbers(parse.GetValue(state)!, "--state");
            if (initial.Length != instance.StateSize)
                throw new UsageException($"{instance.Id} has a state of {instance.StateSize} numbers, --state gave {initial.Length}");
            var steps = ParseActions(parse.GetValue(actions)!, instance);

            instance.Reset(0UL, new float[instance.ObservationSize]);
            instance.SetState(initial);
            var observation = new float[instance.ObservationSize];
            for (int i = 0; i < steps.Count; i++)
            {
                var outcome = instance.Step(steps[i], observation);
                Console.WriteLine(TraceLine(observation, outcome));
                if ((outcome.Terminated || outcome.Truncated) && i < steps.Count - 1)
                {
                    Console.Error.WriteLine($"rlmesh: the episode ended at step {i + 1}; the remaining {steps.Count - i - 1} actions were not applied");
                    break;
                }
            }
            return ExitCodes.Ok;
        });

        return new Command("env", "Environments: list them, trace their dynamics") { list, trace };
    }

    internal static string TraceLine(ReadOnlySpan<float> observation, StepOutcome outcome)
    {
        var line = new StringBuilder("{\"obs\": [");
        for (int i = 0; i < observation.Length; i++)
        {
            if (i > 0) line.Append(", ");
            line.Append(FormatNumber(observation[i]));
        }
        line.Append("], \"reward\": ").Append(FormatNumber(outcome.Reward))
            .Append(", \"terminated\": ").Append(outcome.Terminated ? "true" : "false")
            .Append(", \"truncated\": ").Append(outcome.Truncated ? "true" : "false").Append('}');
        return line.ToString();
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
