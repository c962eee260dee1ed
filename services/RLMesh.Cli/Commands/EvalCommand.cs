using System.CommandLine;
using System.Globalization;
using RLMesh.Core.Nn;
using RLMesh.Core.Runtime;

namespace RLMesh.Cli.Commands;

/// <summary>`rlmesh eval`: plays greedy episodes with a checkpoint and prints the mean return.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Checkpoint file (checkpoint.rlmckpt from 'train --out')", Required = true };
        var episodes = new Option<int>("--episodes") { Description = "Episodes to play", DefaultValueFactory = _ => 10 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the first episode's reset", DefaultValueFactory = _ => 1000UL };
        var observe = NetworkFlags.ObserveOption();
        observe.Description = "The observation elements the policy was trained on (train --observe); recorded in newer checkpoints";
        var command = new Command("eval", "Play greedy episodes with a trained policy") { checkpoint, episodes, seed, observe };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(checkpoint)!;
            int count = parse.GetValue(episodes);
            if (count < 1) throw new UsageException("--episodes must be at least 1");
            if (!file.Exists) throw new UsageException($"checkpoint '{file.FullName}' does not exist");
            Checkpoint loaded;
            try
            {
                using var stream = file.OpenRead();
                loaded = Checkpoint.ReadFrom(stream);
            }
            catch (InvalidCheckpointException ex)
            {
                throw new UsageException($"cannot load '{file.FullName}': {ex.Message}");
            }
            if (NetworkFlags.ParseObserve(parse, observe) is { } indices)
            {
                if (loaded.Observe is { } recorded && !recorded.SequenceEqual(indices))
                    throw new UsageException($"--observe {string.Join(',', indices)} differs from the {string.Join(',', recorded)} the checkpoint was trained on");
                loaded = loaded with { Observe = indices };
            }
            IReadOnlyList<double> returns;
            try
            {
                returns = GreedyEvaluation.Play(loaded, count, parse.GetValue(seed), NetworkFlags.Networks);
            }
            catch (Exception ex) when (ex is NetworkConfigurationException or InvalidCheckpointException or ArgumentException)
            {
                throw new UsageException($"cannot play '{file.FullName}': {ex.Message}");
            }
            for (int i = 0; i < returns.Count; i++)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"episode {i + 1}: return {returns[i]:F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mean return over {count} greedy episodes on {loaded.EnvId}: {returns.Average():F2}"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
