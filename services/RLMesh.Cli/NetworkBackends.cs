using Microsoft.Extensions.Configuration;
using RLMesh.Cli.Commands;
using RLMesh.Core.Nn;
using RLMesh.Torch;

namespace RLMesh.Cli;

/// <summary>The network backends this build ships: the native engine and TorchSharp.</summary>
internal static class NetworkBackends
{
    /// <summary>
    /// A factory with both backends, torch options bound from the "Torch" configuration section when given
    /// (Torch:IntraOpThreads). Building the factory does not load libtorch; the first torch network does.
    /// </summary>
    public static NetworkFactory Create(IConfiguration? configuration = null)
    {
        var options = new TorchOptions();
        configuration?.GetSection(TorchOptions.SectionName).Bind(options);
        return Create(options);
    }

    public static NetworkFactory Create(TorchOptions options)
    {
        try
        {
            return new NetworkFactory([new NativeNetworkBackend(), new TorchNetworkBackend(options)]);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
