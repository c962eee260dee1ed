using System.CommandLine;
using System.Net.WebSockets;
using RLMesh.Core.Envs;
using RLMesh.Remote;
using RLMesh.Remote.Env;

namespace RLMesh.Cli.Commands;

/// <summary>
/// `rlmesh remote-runner`: hosts N sub-environments for a RemoteVectorEnv (or drives them for a central-inference
/// trainer), dialling out to the trainer. Exits 0 when the trainer says goodbye, 1 when it refuses the runner.
/// </summary>
public static class RemoteRunnerCommand
{
    public static Command Create()
    {
        var connect = new Option<string>("--connect") { Description = "Trainer URL, e.g. ws://127.0.0.1:PORT/rlmesh/v1/env (or /rlmesh/v1/inference)", Required = true };
        var env = new Option<string>("--env") { Description = "Environment id", DefaultValueFactory = _ => "CartPole-v1" };
        var envs = new Option<int>("--envs") { Description = "Sub-environments this runner hosts", DefaultValueFactory = _ => 8 };
        var mode = new Option<string>("--mode") { Description = "remote-env (the trainer steps us) or central-inference (we ask for actions)", DefaultValueFactory = _ => "remote-env" };
        var id = new Option<string?>("--id") { Description = "Runner id for logs and metrics (default host-pid)" };
        var seed = new Option<ulong?>("--seed") { Description = "central-inference: seed of the first reset" };
        var command = new Command("remote-runner", "Host environments for a remote trainer (dials out to it)") { connect, env, envs, mode, id, seed };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(connect), UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss"))
                throw new UsageException($"--connect must be a ws:// or wss:// URL, not '{parse.GetValue(connect)}'");
            string envId = parse.GetValue(env)!;
            if (!EnvRegistry.Ids.Contains(envId))
                throw new UsageException($"unknown environment '{envId}' (known: {string.Join(", ", EnvRegistry.Ids)})");
            int count = parse.GetValue(envs);
            if (count < 1) throw new UsageException("--envs must be at least 1");
            var runnerMode = parse.GetValue(mode) switch
            {
                "remote-env" => RunnerMode.RemoteEnv,
                "central-inference" => RunnerMode.CentralInference,
                var other => throw new UsageException($"--mode must be remote-env or central-inference, not '{other}'"),
            };
            var options = new RemoteEnvRunnerOptions
            {
                Url = url,
                EnvId = envId,
                NumEnvs = count,
                Mode = runnerMode,
                Seed = parse.GetValue(seed),
            };
            if (parse.GetValue(id) is string runnerId) options = options with { RunnerId = runnerId };
            try
            {
                await new RemoteEnvRunner(options).RunAsync(cancellationToken);
                return ExitCodes.Ok;
            }
            catch (RemoteProtocolException e)
            {
                Console.Error.WriteLine($"rlmesh: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (WebSocketException e)
            {
                Console.Error.WriteLine($"rlmesh: cannot reach the trainer at {url}: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Ok;
            }
        });
        return command;
    }
}
