using System.Globalization;

namespace RLMesh.EnvRunner;

/// <summary>Settings of one env-runner, bound from the <c>Runner</c> configuration section.</summary>
public sealed class EnvRunnerOptions
{
    public const string Section = "Runner";

    /// <summary>Identifies the runner in unrolls, heartbeats and /status. Empty: {host}-{pid}.</summary>
    public string? Id { get; set; }
    /// <summary>Environments stepped as one vector (B of each unroll).</summary>
    public int Envs { get; set; } = 16;
    public double HeartbeatSeconds { get; set; } = 1;
    /// <summary>Mode central-inference: the learner's inference URL, ws://HOST:PORT/rlmesh/v1/inference.</summary>
    public string? Connect { get; set; }

    public string EffectiveId => string.IsNullOrWhiteSpace(Id)
        ? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}")
        : Id;
}
