namespace RLMesh.Cli.Commands;

/// <summary>Bad input from the user: printed on stderr, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}
