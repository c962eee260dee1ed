using System.CommandLine;
using System.Runtime.InteropServices;
using RLMesh.Cli;
using RLMesh.Cli.Commands;

var root = RootCommandFactory.Create();

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
        Console.Error.WriteLine($"rlmesh: {error.Message}");
    Console.Error.WriteLine("Try 'rlmesh --help'.");
    return ExitCodes.Usage;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
// SIGTERM (kill, a CI job's timeout, a container stop) stops as gracefully as Ctrl-C: `launch` then stops its children
// instead of leaving them running, and `train` still writes its outputs.
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancel.Cancel();
});
try
{
    // Our own Ctrl-C handling: training stops gracefully and still writes its outputs.
    return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, cancel.Token);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"rlmesh: {ex.Message}");
    return ExitCodes.Usage;
}
