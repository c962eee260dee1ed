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
    /// <summary>
    /// On-policy runs (ppo): how long a runner waits for the version after the one it acted with before it steps again
    /// with the newest weights it can get (usually the same version). Normally the next version comes within one update
    /// (tens of milliseconds); it never comes when the batch the unroll went into was lost (broker restart) or refused
    /// by the learner, or when a dead runner's unroll is missing from it. 5 s: far above an update on a loaded 2-core
    /// machine, so runners do not step in vain, and short enough that such a fault costs seconds, not the run.
    /// </summary>
    public double VersionWaitSeconds { get; set; } = 5;
    /// <summary>Mode central-inference: the learner's inference URL, ws://HOST:PORT/rlmesh/v1/inference.</summary>
    public string? Connect { get; set; }

    public string EffectiveId => string.IsNullOrWhiteSpace(Id)
        ? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}")
        : Id;
}
