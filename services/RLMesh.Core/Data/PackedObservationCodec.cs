using RLMesh.Core.Envs;

namespace RLMesh.Core.Data;

/// <summary>How <see cref="PackedObservationCodec"/> stores one observation element.</summary>
public enum PackedObservationFormat
{
    /// <summary>One bit per 0/1 element, 8 per byte, most significant first; each frame starts on a byte.</summary>
    Bits,
    /// <summary>One byte per integer element in 0..255.</summary>
    Bytes,
}

/// <summary>
/// A compact encoding of grid observations: a 10 x 10 x C MinAtar frame packs into 100 C / 8 bytes (13-125),
/// 32 times smaller than its float32 form; uint8 observations take one byte per element. Frames are encoded back
/// to back, each whole, so a batch of frames can be split without decoding. Decoding restores the exact floats.
/// </summary>
public sealed class PackedObservationCodec
{
    public PackedObservationCodec(int frameSize, PackedObservationFormat format)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameSize, 1);
        if (format is not (PackedObservationFormat.Bits or PackedObservationFormat.Bytes))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown packed observation format.");
        FrameSize = frameSize;
        Format = format;
        BytesPerFrame = format == PackedObservationFormat.Bits ? ObservationBits.PackedLength(frameSize) : frameSize;
    }

    /// <summary>The codec for an observation space: bits for a 0/1 uint8 Box, bytes for any other uint8 Box.</summary>
    public static PackedObservationCodec For(Space observationSpace)
    {
        ArgumentNullException.ThrowIfNull(observationSpace);
        if (observationSpace is not Box { DType: BoxDType.UInt8 } box)
            throw new ArgumentException($"Only uint8 Box observations can be packed; got {observationSpace}.", nameof(observationSpace));
        return new PackedObservationCodec(box.Size, box.IsBinary ? PackedObservationFormat.Bits : PackedObservationFormat.Bytes);
    }

    /// <summary>Elements per frame.</summary>
    public int FrameSize { get; }

    public PackedObservationFormat Format { get; }

    public int BytesPerFrame { get; }

    /// <summary>Bytes that <paramref name="frames"/> frames encode into.</summary>
    public int EncodedLength(int frames)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frames);
        return checked(frames * BytesPerFrame);
    }

    /// <summary>Encodes whole frames; elements must be 0/1 (Bits) or integers 0..255 (Bytes).</summary>
    public void Encode(ReadOnlySpan<float> frames, Span<byte> destination)
    {
        int count = FrameCount(frames.Length, nameof(frames));
        if (destination.Length != EncodedLength(count))
            throw new ArgumentException($"{count} frame(s) encode into {EncodedLength(count)} bytes, got a span of {destination.Length}.", nameof(destination));
        for (int f = 0; f < count; f++)
        {
            var frame = frames.Slice(f * FrameSize, FrameSize);
            var bytes = destination.Slice(f * BytesPerFrame, BytesPerFrame);
            if (Format == PackedObservationFormat.Bits)
            {
                ObservationBits.Pack(frame, bytes);
                continue;
            }
            for (int i = 0; i < FrameSize; i++)
            {
                float v = frame[i];
                if (!(v >= 0f && v <= 255f) || v != MathF.Floor(v))
                    throw new ArgumentException($"Frame {f} element {i} is {v}; byte observations must be integers 0..255.", nameof(frames));
                bytes[i] = (byte)v;
            }
        }
    }

    /// <summary>Decodes whole frames into floats (0/1, or 0..255).</summary>
    public void Decode(ReadOnlySpan<byte> encoded, Span<float> frames)
    {
        int count = FrameCount(frames.Length, nameof(frames));
        if (encoded.Length != EncodedLength(count))
            throw new ArgumentException($"{count} frame(s) decode from {EncodedLength(count)} bytes, got {encoded.Length}.", nameof(encoded));
        for (int f = 0; f < count; f++)
        {
            var bytes = encoded.Slice(f * BytesPerFrame, BytesPerFrame);
            var frame = frames.Slice(f * FrameSize, FrameSize);
            if (Format == PackedObservationFormat.Bits) ObservationBits.Unpack(bytes, frame);
            else for (int i = 0; i < FrameSize; i++) frame[i] = bytes[i];
        }
    }

    private int FrameCount(int elements, string name)
    {
        if (elements % FrameSize != 0)
            throw new ArgumentException($"{elements} elements are not whole frames of {FrameSize}.", name);
        return elements / FrameSize;
    }
}
