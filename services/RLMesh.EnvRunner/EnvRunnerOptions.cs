using System.Globalization;

namespace RLMesh.EnvRunner;

/// <summary>Settings of one env-runner, bound from the <c>Runner</c> configuration section.</summary>
public sealed class EnvRunnerOptions
{
    public const string Section = "Runner";

    /// <summary>Identifies the runner in unrolls, heartbeats and /status. Empty: {host}-{pid}.</summary>
    public string? Id { get; set; }
    /// <summary>
    /// Environments stepped as one vector (B of each unroll). 32: every message then carries 640 frames, and the
    /// per-message costs (broker, replay, confirms) were most of a local cluster's CPU; 16 -> 32 raised its
    /// frames/s by ~40 % here with the same frames-to-solve range.
    /// </summary>
    public int Envs { get; set; } = 32;
    public double HeartbeatSeconds { get; set; } = 1;
    /// <summary>Mode central-inference: the learner's inference URL, ws://HOST:PORT/rlmesh/v1/inference.</summary>
    public string? Connect { get; set; }

    public string EffectiveId => string.IsNullOrWhiteSpace(Id)
        ? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}")
        : Id;
}
