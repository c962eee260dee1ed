using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RLMesh.EnvRunner;
using RLMesh.Hosting;
using RLMesh.Learner;
using RLMesh.ParameterServer;
using RLMesh.Replay;

namespace RLMesh.Cli.Commands;

/// <summary>`rlmesh run &lt;role&gt;`: one service of a distributed run, in this process.</summary>
public static class RunCommand
{
    public static readonly string[] Roles = ["env-runner", "replay", "learner", "parameter-server"];

    public static Command Create()
    {
        var flags = new ClusterFlags();
        var role = new Argument<string>("role") { Description = "env-runner, replay, learner or parameter-server" };
        role.AcceptOnlyFromAmong([.. Roles, "runner", "ps"]);
        var command = new Command("run", "Run one service of a distributed run (RabbitMQ + Redis)") { role };
        flags.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var name = parse.GetValue(role) switch { "runner" => "env-runner", "ps" => "parameter-server", var r => r! };
            var builder = ClusterFlags.CreateBuilder(parse.GetValue(flags.Config), flags.Values(parse));
            AddRole(builder, name);
            return await RunHostAsync(builder, cancellationToken);
        });
        return command;
    }

    internal static void AddRole(WebApplicationBuilder builder, string role)
    {
        try
        {
            switch (role)
            {
                case "env-runner": builder.AddEnvRunner(); break;
                case "replay": builder.AddReplay(); break;
                case "learner": builder.AddLearner(); break;
                case "parameter-server": builder.AddParameterServer(); break;
                default: throw new UsageException($"unknown role '{role}' (roles: {string.Join(", ", Roles)})");
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>Runs the host until cancelled or a service stops it; exit code 1 when a service failed.</summary>
    internal static async Task<int> RunHostAsync(WebApplicationBuilder builder, CancellationToken cancellationToken, Action<WebApplication>? started = null)
    {
        var app = builder.Build();
        app.MapDefaultEndpoints();
        if (app.Services.GetService<ParameterServerStats>() is not null)
            app.MapParameterServer();
        await app.StartAsync(cancellationToken);
        started?.Invoke(app);
        try
        {
            await app.WaitForShutdownAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
        var failed = app.Services.GetServices<IHostedService>().OfType<BackgroundService>()
            .Where(s => s.ExecuteTask is { IsFaulted: true }).ToList();
        await app.DisposeAsync();
        foreach (var service in failed)
            Console.Error.WriteLine($"rlmesh: {service.GetType().Name} failed: {service.ExecuteTask!.Exception!.GetBaseException().Message}");
        return failed.Count > 0 ? ExitCodes.Failure : ExitCodes.Ok;
    }
}
