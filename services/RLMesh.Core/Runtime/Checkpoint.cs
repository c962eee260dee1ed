using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using RLMesh.Core.Nn;

namespace RLMesh.Core.Runtime;

/// <summary>Thrown when a checkpoint is truncated, corrupt or of an unknown format.</summary>
public sealed class InvalidCheckpointException(string message) : Exception(message);

/// <summary>
/// A learner checkpoint: network spec (with its backend, torso preset, LSTM size and observation shape), parameters,
/// optimizer state and the version counter. Headers written before the network description existed load as a native
/// MLP over flat observations.
/// Layout: magic "RLMCKPT1", int32 header length, UTF-8 JSON header, parameters (float32 LE),
/// optimizer state (float32 LE), SHA-256 of everything before it. Loading checks all of it, so a
/// torn or corrupt file is refused rather than half-loaded.
/// </summary>
public sealed record Checkpoint(
    string EnvId,
    string Algorithm,
    NetworkSpec Spec,
    long Version,
    long Frames,
    ulong Seed,
    string OptimizerKind,
    float[] Parameters,
    float[] OptimizerState)
{
    /// <summary>The observation elements the policy saw (<see cref="TrainingOptions.Observe"/>); null: all of them.</summary>
    public int[]? Observe { get; init; }

    private static ReadOnlySpan<byte> Magic => "RLMCKPT1"u8;

    private sealed record Header(
        string EnvId, string Algorithm, int ObservationSize, int[] Hidden, string Activation,
        string Head, int HeadSize, float InitialLogStd, long Version, long Frames, ulong Seed,
        string OptimizerKind, int ParameterCount, int OptimizerStateCount, float[]? InputShift = null, float[]? InputScale = null,
        string? Backend = null, string? Net = null, int LstmSize = 0, int[]? ObservationShape = null, int[]? Observe = null);

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public void WriteTo(Stream stream)
    {
        var (headName, headSize, logStd) = Spec.Head switch
        {
            CategoricalHead c => ("categorical", c.Actions, 0f),
            GaussianHead g => ("gaussian", g.ActionSize, g.InitialLogStd),
            _ => throw new NotSupportedException($"unknown policy head {Spec.Head}"),
        };
        var header = new Header(EnvId, Algorithm, Spec.ObservationSize, Spec.Hidden, Spec.Activation.ToString(),
            headName, headSize, logStd, Version, Frames, Seed, OptimizerKind, Parameters.Length, OptimizerState.Length,
            Spec.InputShift, Spec.InputScale, NetworkFactory.Name(Spec.Backend), NetworkFactory.Name(Spec.Torso), Spec.LstmSize,
            Spec.ObservationShape, Observe);
        byte[] headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, JsonOptions);

        using var body = new MemoryStream();
        body.Write(Magic);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
        body.Write(length);
        body.Write(headerBytes);
        WriteFloats(body, Parameters);
        WriteFloats(body, OptimizerState);
        byte[] bytes = body.ToArray();
        stream.Write(bytes);
        stream.Write(SHA256.HashData(bytes));
    }

    public static Checkpoint ReadFrom(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var all = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (all.Length < Magic.Length + 4 + SHA256.HashSizeInBytes || !all[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidCheckpointException("not an RLMesh checkpoint (bad magic or too short)");
        var content = all[..^SHA256.HashSizeInBytes];
        if (!SHA256.HashData(content).AsSpan().SequenceEqual(all[^SHA256.HashSizeInBytes..]))
            throw new InvalidCheckpointException("checkpoint checksum mismatch: the file is corrupt or truncated");

        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(content[Magic.Length..]);
        int offset = Magic.Length + 4;
        if (headerLength <= 0 || offset + headerLength > content.Length)
            throw new InvalidCheckpointException("checkpoint header length is out of range");
        var header = JsonSerializer.Deserialize<Header>(content.Slice(offset, headerLength), JsonOptions)
            ?? throw new InvalidCheckpointException("checkpoint header is empty");
        offset += headerLength;
        long expected = offset + 4L * header.ParameterCount + 4L * header.OptimizerStateCount;
        if (header.ParameterCount < 0 || header.OptimizerStateCount < 0 || expected != content.Length)
            throw new InvalidCheckpointException("checkpoint payload size does not match its header");

        var parameters = ReadFloats(content.Slice(offset, 4 * header.ParameterCount));
        offset += 4 * header.ParameterCount;
        var optimizerState = ReadFloats(content.Slice(offset, 4 * header.OptimizerStateCount));

        PolicyHead head = header.Head switch
        {
            "categorical" => new CategoricalHead(header.HeadSize),
            "gaussian" => new GaussianHead(header.HeadSize, header.InitialLogStd),
            _ => throw new InvalidCheckpointException($"unknown policy head '{header.Head}'"),
        };
        if (!Enum.TryParse<Activation>(header.Activation, out var activation))
            throw new InvalidCheckpointException($"unknown activation '{header.Activation}'");
        var spec = new NetworkSpec(header.ObservationSize, header.Hidden, activation, head)
        {
            InputShift = header.InputShift,
            InputScale = header.InputScale,
        };
        spec = ReadDescription(header).ApplyTo(spec);
        try { spec.Validate(); }
        catch (ArgumentException e) { throw new InvalidCheckpointException($"checkpoint network spec is invalid: {e.Message}"); }
        return new Checkpoint(header.EnvId, header.Algorithm, spec, header.Version, header.Frames, header.Seed,
            header.OptimizerKind, parameters, optimizerState) { Observe = header.Observe };
    }

    /// <summary>
    /// Rebuilds the network with the backend the checkpoint names (native only unless <paramref name="networks"/> has
    /// more) and loads the parameters, checking the count matches the spec.
    /// </summary>
    public IActorCriticNetwork CreateNetwork(NetworkFactory? networks = null)
    {
        var net = (networks ?? NetworkFactory.NativeOnly).Create(Spec, Seed);
        if (net.Parameters.Count != Parameters.Length)
            throw new InvalidCheckpointException($"checkpoint has {Parameters.Length} parameters, its spec needs {net.Parameters.Count}");
        net.Parameters.CopyFrom(Parameters);
        return net;
    }

    private static NetworkDescription ReadDescription(Header header)
    {
        var described = NetworkDescription.Default(header.ObservationSize);
        try
        {
            return described with
            {
                Backend = header.Backend is null ? described.Backend : NetworkFactory.ParseBackend(header.Backend),
                Torso = header.Net is null ? described.Torso : NetworkFactory.ParseTorso(header.Net),
                LstmSize = header.LstmSize,
                ObservationShape = header.ObservationShape ?? described.ObservationShape,
            };
        }
        catch (NetworkConfigurationException e)
        {
            throw new InvalidCheckpointException($"checkpoint network description is invalid: {e.Message}");
        }
    }

    private static void WriteFloats(Stream stream, float[] values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            return;
        }
        Span<byte> b = stackalloc byte[4];
        foreach (var v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            stream.Write(b);
        }
    }

    private static float[] ReadFloats(ReadOnlySpan<byte> bytes)
    {
        var values = new float[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
        return values;
    }
}
