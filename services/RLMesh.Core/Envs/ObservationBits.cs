namespace RLMesh.Core.Envs;

/// <summary>
/// Packs 0/1 observations 8 per byte, most significant bit first, as NumPy's <c>packbits</c> does (element 8k is
/// bit 7 of byte k; the last byte is padded with zero bits). MinAtar's reference records store frames this way.
/// </summary>
public static class ObservationBits
{
    /// <summary>Bytes needed for <paramref name="count"/> elements.</summary>
    public static int PackedLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return (count + 7) / 8;
    }

    /// <summary>Packs the elements; each must be exactly 0 or 1.</summary>
    public static void Pack(ReadOnlySpan<float> values, Span<byte> packed)
    {
        if (packed.Length != PackedLength(values.Length))
            throw new ArgumentException($"{values.Length} elements pack into {PackedLength(values.Length)} bytes, got a span of {packed.Length}.", nameof(packed));
        packed.Clear();
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (v == 1f) packed[i >> 3] |= (byte)(0x80 >> (i & 7));
            else if (v != 0f)
                throw new ArgumentException($"Element {i} is {v}; only 0/1 observations can be packed into bits.", nameof(values));
        }
    }

    /// <summary>Unpacks <paramref name="values"/>.Length elements as 0/1 floats; padding bits must be zero.</summary>
    public static void Unpack(ReadOnlySpan<byte> packed, Span<float> values)
    {
        if (packed.Length != PackedLength(values.Length))
            throw new ArgumentException($"{values.Length} elements unpack from {PackedLength(values.Length)} bytes, got {packed.Length}.", nameof(packed));
        for (int i = 0; i < values.Length; i++) values[i] = (packed[i >> 3] >> (7 - (i & 7))) & 1;
        int padding = packed.Length * 8 - values.Length;
        if (padding > 0 && (packed[^1] & ((1 << padding) - 1)) != 0)
            throw new ArgumentException("The padding bits after the last element are not zero.", nameof(packed));
    }

    /// <summary>The packed bits as lower-case hex, as the reference records write them.</summary>
    public static string PackToHex(ReadOnlySpan<float> values)
    {
        var packed = new byte[PackedLength(values.Length)];
        Pack(values, packed);
        return Convert.ToHexStringLower(packed);
    }
}
