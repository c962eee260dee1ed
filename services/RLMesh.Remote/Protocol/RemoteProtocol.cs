using System.Runtime.InteropServices;
using Google.Protobuf;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;

namespace RLMesh.Remote.Protocol;

/// <summary>Versions, paths and the conversions both peers share (docs/remote.md).</summary>
public static class RemoteProtocol
{
    /// <summary>Must match on both sides; bumped on any change an older peer would misread.</summary>
    public const uint Major = 1;
    /// <summary>Additive changes; peers with different minors talk, using the lower one's features.</summary>
    public const uint Minor = 0;

    /// <summary>Where remote-env runners dial in.</summary>
    public const string EnvPath = "/rlmesh/v1/env";
    /// <summary>Where central-inference runners dial in.</summary>
    public const string InferencePath = "/rlmesh/v1/inference";
    /// <summary>Where policy runners (local policy copy, full transitions, APS pulls) dial in.</summary>
    public const string PolicyPath = "/rlmesh/v1/policy";

    /// <summary>Largest frame either side accepts (a 4096-env vector of 84x84 frames would not fit; classic control does by far).</summary>
    public const int MaxFrameBytes = 16 << 20;

    public static ulong Flag(Capability capability) => 1UL << ((int)capability - 1);

    public static SpaceSpec ToSpec(Space space) => space switch
    {
        Discrete d => new SpaceSpec { Discrete = d.N },
        Box b => new SpaceSpec { Box = new BoxSpec { Low = { b.Low }, High = { b.High }, Shape = { b.Shape }, Dtype = ToWire(b.DType) } },
        MultiDiscrete m => new SpaceSpec { MultiDiscrete = new MultiDiscreteSpec { Nvec = { m.Nvec } } },
        _ => throw new NotSupportedException($"space {space} has no wire form"),
    };

    /// <summary>The space a spec describes; <see cref="InvalidMessageException"/> when it describes none.</summary>
    public static Space FromSpec(SpaceSpec? spec)
    {
        try
        {
            return spec?.KindCase switch
            {
                SpaceSpec.KindOneofCase.Discrete => new Discrete(spec.Discrete),
                SpaceSpec.KindOneofCase.Box => new Box(spec.Box.Low.ToArray(), spec.Box.High.ToArray(), spec.Box.Shape.ToArray())
                {
                    DType = FromWire(spec.Box.Dtype),
                },
                SpaceSpec.KindOneofCase.MultiDiscrete => new MultiDiscrete(spec.MultiDiscrete.Nvec.ToArray()),
                _ => throw new InvalidMessageException("space spec is missing"),
            };
        }
        catch (ArgumentException e)
        {
            throw new InvalidMessageException($"space spec is invalid: {e.Message}", e);
        }
    }

    private static BoxElementType ToWire(BoxDType dtype) => dtype switch
    {
        BoxDType.Float32 => BoxElementType.Float32,
        BoxDType.UInt8 => BoxElementType.Uint8,
        _ => throw new NotSupportedException($"Box dtype {dtype} has no wire form"),
    };

    // An unknown value comes from a newer peer; guessing float32 would silently change what the env means.
    private static BoxDType FromWire(BoxElementType dtype) => dtype switch
    {
        BoxElementType.Float32 => BoxDType.Float32,
        BoxElementType.Uint8 => BoxDType.UInt8,
        _ => throw new InvalidMessageException($"space spec has an unknown box dtype {(int)dtype}"),
    };

    /// <summary>Packs float32 little-endian (one copy; frames are small).</summary>
    public static ByteString Pack(ReadOnlySpan<float> values) => ByteString.CopyFrom(MemoryMarshal.AsBytes(values));

    /// <summary>
    /// Packs float32 into a reused <paramref name="buffer"/> and wraps it without copying: the result is valid until the
    /// buffer is written again, so only for a frame that is serialised (sent) before that.
    /// </summary>
    public static ByteString PackInto(ReadOnlySpan<float> values, ref byte[] buffer)
    {
        int length = values.Length * sizeof(float);
        if (buffer.Length < length) buffer = new byte[length];
        MemoryMarshal.AsBytes(values).CopyTo(buffer);
        return UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, length));
    }

    /// <summary>One byte per flag into a reused <paramref name="buffer"/>, wrapped without copying (same rule as <see cref="PackInto"/>).</summary>
    public static ByteString FlagsInto(ReadOnlySpan<bool> flags, ref byte[] buffer)
    {
        if (buffer.Length < flags.Length) buffer = new byte[flags.Length];
        for (int i = 0; i < flags.Length; i++) buffer[i] = flags[i] ? (byte)1 : (byte)0;
        return UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, flags.Length));
    }

    /// <summary>Copies packed float32 into <paramref name="destination"/>; the length must match exactly.</summary>
    public static void ReadFloats(ByteString bytes, Span<float> destination, string field)
    {
        var source = bytes.Span;
        if (source.Length != destination.Length * sizeof(float))
            throw new InvalidMessageException($"{field} has {source.Length} bytes, expected {destination.Length * sizeof(float)} ({destination.Length} float32)");
        MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
    }

    /// <summary>Copies a one-byte-per-env flag vector; only 0 and 1 are valid.</summary>
    public static void ReadFlags(ByteString bytes, Span<bool> destination, string field)
    {
        var source = bytes.Span;
        if (source.Length != destination.Length)
            throw new InvalidMessageException($"{field} has {source.Length} bytes, expected {destination.Length} (one per env)");
        for (int i = 0; i < source.Length; i++)
        {
            byte b = source[i];
            if (b > 1) throw new InvalidMessageException($"{field}[{i}] is {b}, expected 0 or 1");
            destination[i] = b == 1;
        }
    }

    public static ByteString Flags(ReadOnlySpan<bool> flags)
    {
        var bytes = new byte[flags.Length];
        for (int i = 0; i < flags.Length; i++) bytes[i] = flags[i] ? (byte)1 : (byte)0;
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>Rejects NaN/Inf where the peer would otherwise propagate it into training.</summary>
    public static void CheckFinite(ReadOnlySpan<float> values, string field)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new InvalidMessageException($"{field}[{i}] is {values[i]}, not a finite number");
    }

    /// <summary>Parses one frame; anything that is not a RemoteFrame with a body is refused.</summary>
    public static RemoteFrame Parse(ReadOnlySpan<byte> payload)
    {
        RemoteFrame frame;
        try
        {
            frame = RemoteFrame.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidMessageException($"frame of {payload.Length} bytes is not a protobuf RemoteFrame: {e.Message}", e);
        }
        if (frame.BodyCase == RemoteFrame.BodyOneofCase.None)
            throw new InvalidMessageException($"frame of {payload.Length} bytes has no body (unknown message kind?)");
        return frame;
    }

    public static RemoteFrame Error(RemoteErrorCode code, string message) =>
        new() { Error = new RemoteError { Code = code, Message = message } };
}
