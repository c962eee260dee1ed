using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using RLMesh.Core.Data;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Protos;
using CoreEpisodeStats = RLMesh.Core.Data.EpisodeStats;
using WireEpisodeStats = RLMesh.Messaging.Protos.EpisodeStats;

namespace RLMesh.Messaging.Codec;

/// <summary>
/// Turns a <see cref="Trajectory"/> into the protobuf <c>rlmesh.v1.Unroll</c> wire form and back.
/// Decoding validates everything a learner would otherwise trip over later (sizes, schema, NaN/Inf),
/// so a bad message is rejected at the queue and dead-lettered instead of poisoning an update.
/// </summary>
public static class TrajectoryCodec
{
    /// <summary>The schema version this code writes and the only one it reads.</summary>
    public const uint SchemaVersion = 1;

    /// <summary>Upper bound on any one dimension, so hostile sizes cannot overflow the length arithmetic.</summary>
    private const int MaxDimension = 1 << 24;

    public static byte[] Encode(Trajectory trajectory) => ToMessage(trajectory).ToByteArray();

    /// <summary>
    /// Encodes with observations stored as <paramref name="observationEncoding"/> (pick it with <see cref="EncodingFor"/>);
    /// throws <see cref="ArgumentException"/> when an observation does not fit it (a non-0/1 element for bits).
    /// </summary>
    public static byte[] Encode(Trajectory trajectory, ObservationEncoding observationEncoding) =>
        ToMessage(trajectory, observationEncoding).ToByteArray();

    public static void Encode(Trajectory trajectory, IBufferWriter<byte> output) => ToMessage(trajectory).WriteTo(output);

    /// <summary>
    /// The most compact exact encoding for observations of <paramref name="observationSpace"/>: bits for a binary uint8 Box
    /// (MinAtar), bytes for another uint8 Box, float32 for anything else.
    /// </summary>
    public static ObservationEncoding EncodingFor(Space observationSpace)
    {
        ArgumentNullException.ThrowIfNull(observationSpace);
        return observationSpace switch
        {
            Box { DType: BoxDType.UInt8, IsBinary: true } => ObservationEncoding.Bits,
            Box { DType: BoxDType.UInt8 } => ObservationEncoding.Uint8,
            _ => ObservationEncoding.Float32,
        };
    }

    /// <summary>Bytes one observation of <paramref name="observationSize"/> elements takes in <paramref name="encoding"/>.</summary>
    internal static long ObservationBytes(ObservationEncoding encoding, long observationSize) => encoding switch
    {
        ObservationEncoding.Float32 => observationSize * sizeof(float),
        ObservationEncoding.Bits => (observationSize + 7) / 8,
        ObservationEncoding.Uint8 => observationSize,
        _ => throw new InvalidMessageException($"Unroll observation_encoding {(int)encoding} is unknown."),
    };

    /// <summary>Decodes and validates; throws <see cref="InvalidMessageException"/> with the reason on any fault.</summary>
    public static Trajectory Decode(ReadOnlySpan<byte> payload)
    {
        return FromMessage(Parse(payload));
    }

    internal static Unroll ToMessage(Trajectory trajectory, ObservationEncoding observationEncoding = ObservationEncoding.Float32)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        if (!Enum.IsDefined(observationEncoding))
            throw new ArgumentOutOfRangeException(nameof(observationEncoding), observationEncoding, "Unknown observation encoding.");
        var message = new Unroll
        {
            SchemaVersion = SchemaVersion,
            Steps = trajectory.Steps,
            Envs = trajectory.Envs,
            ObservationSize = trajectory.ObservationSize,
            ActionSize = trajectory.ActionSize,
            PolicyOutputSize = trajectory.PolicyOutputSize,
            Observations = EncodeObservations(trajectory.Observations, trajectory.ObservationSize, observationEncoding),
            ObservationEncoding = observationEncoding,
            Actions = FloatsToBytes(trajectory.Actions),
            Rewards = FloatsToBytes(trajectory.Rewards),
            BehaviourPolicy = FloatsToBytes(trajectory.BehaviourPolicy),
            Terminated = PackBits(trajectory.Terminated),
            Truncated = PackBits(trajectory.Truncated),
            Valid = PackBits(trajectory.Valid),
            PolicyVersion = trajectory.PolicyVersion,
            Source = trajectory.Source,
            CoreStateSize = trajectory.CoreStateSize,
        };
        if (trajectory.CoreStateSize > 0)
            message.InitialCoreState = FloatsToBytes(trajectory.InitialCoreState);
        foreach (var e in trajectory.Episodes)
            message.Episodes.Add(new WireEpisodeStats { EnvIndex = e.EnvIndex, Return = e.Return, Length = e.Length });
        foreach (var segment in trajectory.Segments)
            message.Segments.Add(new Protos.BatchSegment { Source = segment.Source, Envs = segment.Envs, PolicyVersion = segment.PolicyVersion });
        return message;
    }

    /// <summary>
    /// Parses and validates exactly as <see cref="Decode"/> does (sizes, schema, NaN/Inf, episodes, segments), but keeps
    /// the tensors as their wire bytes: a relay (replay) can batch and forward them without decoding and re-encoding.
    /// </summary>
    public static EncodedUnroll DecodeEncoded(ReadOnlySpan<byte> payload)
    {
        var message = Parse(payload);
        Validate(message);
        return new EncodedUnroll(message);
    }

    private static Unroll Parse(ReadOnlySpan<byte> payload)
    {
        try
        {
            return Unroll.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidMessageException($"Payload of {payload.Length} bytes is not a protobuf Unroll: {e.Message}", e);
        }
    }

    /// <summary>Every check <see cref="FromMessage"/> makes, without building a <see cref="Trajectory"/>.</summary>
    internal static void Validate(Unroll message)
    {
        RequireShape(message);
        if (message.ObservationEncoding == ObservationEncoding.Float32)
            RequireFinite("observations", message.Observations.Span);
        RequireFinite("actions", message.Actions.Span);
        RequireFinite("rewards", message.Rewards.Span);
        RequireFinite("behaviour_policy", message.BehaviourPolicy.Span);
        RequireFinite("initial_core_state", message.InitialCoreState.Span);
        foreach (var e in message.Episodes)
            RequireEpisode(message, e);
        RequireSegments(message);
    }

    internal static Trajectory FromMessage(Unroll message)
    {
        RequireShape(message);
        var trajectory = new Trajectory(message.Steps, message.Envs, message.ObservationSize, message.ActionSize, message.PolicyOutputSize,
            message.CoreStateSize)
        {
            PolicyVersion = message.PolicyVersion,
            Source = message.Source,
        };
        DecodeObservations(message, trajectory.Observations);
        BytesToFloats("actions", message.Actions.Span, trajectory.Actions);
        BytesToFloats("rewards", message.Rewards.Span, trajectory.Rewards);
        BytesToFloats("behaviour_policy", message.BehaviourPolicy.Span, trajectory.BehaviourPolicy);
        BytesToFloats("initial_core_state", message.InitialCoreState.Span, trajectory.InitialCoreState);
        UnpackBits(message.Terminated.Span, trajectory.Terminated);
        UnpackBits(message.Truncated.Span, trajectory.Truncated);
        UnpackBits(message.Valid.Span, trajectory.Valid);

        foreach (var e in message.Episodes)
        {
            RequireEpisode(message, e);
            trajectory.Episodes.Add(new CoreEpisodeStats(e.EnvIndex, e.Return, e.Length));
        }
        RequireSegments(message);
        foreach (var segment in message.Segments)
            trajectory.Segments.Add(new RLMesh.Core.Data.BatchSegment(segment.Source, segment.Envs, segment.PolicyVersion));
        return trajectory;
    }

    private static void RequireEpisode(Unroll message, WireEpisodeStats e)
    {
        if (e.EnvIndex < 0 || e.EnvIndex >= message.Envs)
            throw new InvalidMessageException($"Episode env_index {e.EnvIndex} is outside [0, {message.Envs}).");
        if (e.Length < 0)
            throw new InvalidMessageException($"Episode length {e.Length} is negative.");
        if (!double.IsFinite(e.Return))
            throw new InvalidMessageException($"Episode return {e.Return} is not finite.");
    }

    private static void RequireSegments(Unroll message)
    {
        if (message.Segments.Count == 0)
            return;
        long segmentEnvs = 0;
        foreach (var segment in message.Segments)
        {
            if (segment.Envs < 1)
                throw new InvalidMessageException($"Batch segment envs {segment.Envs} must be positive.");
            segmentEnvs += segment.Envs;
        }
        if (segmentEnvs != message.Envs)
            throw new InvalidMessageException($"Batch segments cover {segmentEnvs} envs, the batch has {message.Envs}.");
    }

    private static void RequireShape(Unroll message)
    {
        if (message.SchemaVersion != SchemaVersion)
            throw new InvalidMessageException(message.SchemaVersion == 0
                ? "Unroll has no schema_version (0); it was not written by an RLMesh encoder."
                : $"Unroll schema_version {message.SchemaVersion} is unknown; this reader understands {SchemaVersion}.");

        RequireDimension("steps", message.Steps);
        RequireDimension("envs", message.Envs);
        RequireDimension("observation_size", message.ObservationSize);
        RequireDimension("action_size", message.ActionSize);
        RequireDimension("policy_output_size", message.PolicyOutputSize);

        long steps = message.Steps, envs = message.Envs;
        long cells = steps * envs;
        RequireObservationBytes(message, (steps + 1) * envs);
        RequireFloatBytes("actions", message.Actions, cells * message.ActionSize);
        RequireFloatBytes("rewards", message.Rewards, cells);
        RequireFloatBytes("behaviour_policy", message.BehaviourPolicy, cells * message.PolicyOutputSize);
        RequireBitBytes("terminated", message.Terminated, cells);
        RequireBitBytes("truncated", message.Truncated, cells);
        RequireBitBytes("valid", message.Valid, cells);
        if (message.CoreStateSize < 0 || message.CoreStateSize > MaxDimension)
            throw new InvalidMessageException($"Unroll core_state_size is {message.CoreStateSize}; it must be 0..{MaxDimension}.");
        RequireFloatBytes("initial_core_state", message.InitialCoreState, envs * message.CoreStateSize);
    }

    private static void RequireObservationBytes(Unroll message, long observations)
    {
        var encoding = message.ObservationEncoding;
        long perObservation = ObservationBytes(encoding, message.ObservationSize);
        if (message.Observations.Length != observations * perObservation)
            throw new InvalidMessageException(
                $"Unroll observations has {message.Observations.Length} bytes; the dimensions call for {observations} observations "
                + $"of {perObservation} bytes ({message.ObservationSize} elements as {encoding}) = {observations * perObservation} bytes.");
        int spare = (int)(perObservation * 8 - message.ObservationSize);
        if (encoding != ObservationEncoding.Bits || spare == 0)
            return;
        // Bits: the unused low bits of each observation's last byte must be zero, or the sender packed something else.
        var bytes = message.Observations.Span;
        int mask = (1 << spare) - 1;
        for (long i = perObservation - 1; i < bytes.Length; i += perObservation)
        {
            if ((bytes[(int)i] & mask) != 0)
                throw new InvalidMessageException($"Unroll observation {i / perObservation} has bits set past its last element.");
        }
    }

    private static ByteString EncodeObservations(float[] observations, int observationSize, ObservationEncoding encoding)
    {
        if (encoding == ObservationEncoding.Float32)
            return FloatsToBytes(observations);
        var codec = new PackedObservationCodec(observationSize,
            encoding == ObservationEncoding.Bits ? PackedObservationFormat.Bits : PackedObservationFormat.Bytes);
        var bytes = new byte[codec.EncodedLength(observations.Length / observationSize)];
        codec.Encode(observations, bytes);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static void DecodeObservations(Unroll message, float[] target)
    {
        if (message.ObservationEncoding == ObservationEncoding.Float32)
        {
            BytesToFloats("observations", message.Observations.Span, target);
            return;
        }
        // RequireShape checked the length and the padding bits, so decoding cannot fail here.
        var codec = new PackedObservationCodec(message.ObservationSize,
            message.ObservationEncoding == ObservationEncoding.Bits ? PackedObservationFormat.Bits : PackedObservationFormat.Bytes);
        codec.Decode(message.Observations.Span, target);
    }

    /// <summary>The observations of <paramref name="message"/> as float32 LE bytes, whatever their encoding.</summary>
    internal static ByteString ObservationsAsFloat32(Unroll message)
    {
        if (message.ObservationEncoding == ObservationEncoding.Float32)
            return message.Observations;
        var floats = new float[((long)message.Steps + 1) * message.Envs * message.ObservationSize];
        DecodeObservations(message, floats);
        return FloatsToBytes(floats);
    }

    private static void RequireDimension(string name, int value)
    {
        if (value <= 0)
            throw new InvalidMessageException($"Unroll {name} is {value}; it must be positive.");
        if (value > MaxDimension)
            throw new InvalidMessageException($"Unroll {name} is {value}; the limit is {MaxDimension}.");
    }

    private static void RequireFloatBytes(string name, ByteString bytes, long elements)
    {
        if (bytes.Length != elements * sizeof(float))
            throw new InvalidMessageException(
                $"Unroll {name} has {bytes.Length} bytes; the dimensions call for {elements} float32 = {elements * sizeof(float)} bytes.");
    }

    private static void RequireBitBytes(string name, ByteString bytes, long cells)
    {
        long expected = (cells + 7) / 8;
        if (bytes.Length != expected)
            throw new InvalidMessageException($"Unroll {name} has {bytes.Length} bytes; {cells} flags pack into {expected} bytes.");
        int spare = (int)(expected * 8 - cells);
        if (spare > 0 && (bytes.Span[^1] >> (8 - spare)) != 0)
            throw new InvalidMessageException($"Unroll {name} has bits set past its last flag.");
    }

    private static ByteString FloatsToBytes(float[] values)
    {
        if (BitConverter.IsLittleEndian)
            return ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static void BytesToFloats(string name, ReadOnlySpan<byte> source, float[] target)
    {
        if (BitConverter.IsLittleEndian)
        {
            source.CopyTo(MemoryMarshal.AsBytes(target.AsSpan()));
        }
        else
        {
            for (int i = 0; i < target.Length; i++)
                target[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(i * sizeof(float))..]);
        }
        int bad = IndexOfNonFinite(target);
        if (bad >= 0)
            throw new InvalidMessageException($"Unroll {name}[{bad}] is {target[bad]}; NaN and infinity are not accepted.");
    }

    private static void RequireFinite(string name, ReadOnlySpan<byte> source)
    {
        if (BitConverter.IsLittleEndian)
        {
            var values = MemoryMarshal.Cast<byte, float>(source);
            int bad = IndexOfNonFinite(values);
            if (bad >= 0)
                throw new InvalidMessageException($"Unroll {name}[{bad}] is {values[bad]}; NaN and infinity are not accepted.");
            return;
        }
        for (int i = 0; i < source.Length / sizeof(float); i++)
        {
            float value = BinaryPrimitives.ReadSingleLittleEndian(source[(i * sizeof(float))..]);
            if (!float.IsFinite(value))
                throw new InvalidMessageException($"Unroll {name}[{i}] is {value}; NaN and infinity are not accepted.");
        }
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                return i;
        }
        return -1;
    }

    private static ByteString PackBits(bool[] flags)
    {
        var bytes = new byte[(flags.Length + 7) / 8];
        for (int i = 0; i < flags.Length; i++)
        {
            if (flags[i])
                bytes[i >> 3] |= (byte)(1 << (i & 7));
        }
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static void UnpackBits(ReadOnlySpan<byte> bytes, bool[] flags)
    {
        for (int i = 0; i < flags.Length; i++)
            flags[i] = (bytes[i >> 3] & (1 << (i & 7))) != 0;
    }
}
