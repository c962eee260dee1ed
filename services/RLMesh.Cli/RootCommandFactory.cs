using System.CommandLine;
using RLMesh.Cli.Commands;

namespace RLMesh.Cli;

/// <summary>The `rlmesh` command tree, built in one place so the program and the docs test parse against the same one.</summary>
public static class RootCommandFactory
{
    public static RootCommand Create()
    {
        var root = new RootCommand("rlmesh: distributed reinforcement learning (IMPALA/V-trace) - embedded by default");
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(EnvCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(ScaleCommand.Create());
        root.Subcommands.Add(MetricsCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(LaunchCommand.Create());
        root.Subcommands.Add(RemoteRunnerCommand.Create());
        return root;
    }
}
