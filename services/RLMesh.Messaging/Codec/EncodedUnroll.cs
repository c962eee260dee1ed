using Google.Protobuf;
using RLMesh.Core.Data;
using RLMesh.Messaging.Protos;

namespace RLMesh.Messaging.Codec;

/// <summary>
/// A validated unroll (or batch) kept in its wire form: the tensors stay packed little-endian bytes. Made by
/// <see cref="TrajectoryCodec.DecodeEncoded"/>, which applies every check <see cref="TrajectoryCodec.Decode"/> applies,
/// so holding one means the message was sound. <see cref="Concatenate"/> forms a batch along B on the bytes directly,
/// which is what a relay such as replay needs: no float arrays, no <see cref="Trajectory"/>, no re-encoding of tensors.
/// </summary>
public sealed class EncodedUnroll
{
    internal EncodedUnroll(Unroll message) => Message = message;

    internal Unroll Message { get; }

    public int Steps => Message.Steps;
    public int Envs => Message.Envs;
    public int ObservationSize => Message.ObservationSize;
    public int ActionSize => Message.ActionSize;
    public int PolicyOutputSize => Message.PolicyOutputSize;
    public long PolicyVersion => Message.PolicyVersion;
    public string Source => Message.Source;
    public int Frames => Message.Steps * Message.Envs;
    public int EpisodeCount => Message.Episodes.Count;

    /// <summary>True when <paramref name="other"/> can be concatenated with this one (same T and per-step sizes).</summary>
    public bool SharesShapeWith(EncodedUnroll other) =>
        other.Steps == Steps && other.ObservationSize == ObservationSize
        && other.ActionSize == ActionSize && other.PolicyOutputSize == PolicyOutputSize
        && other.Message.CoreStateSize == Message.CoreStateSize;

    /// <summary>The wire bytes (a fresh array; the message is encoded once per call).</summary>
    public byte[] ToByteArray() => Message.ToByteArray();

    /// <summary>The decoded trajectory (copies the tensors into float and bool arrays).</summary>
    public Trajectory ToTrajectory() => TrajectoryCodec.FromMessage(Message);

    /// <summary>How the observations are stored on the wire.</summary>
    public ObservationEncoding ObservationEncoding => Message.ObservationEncoding;

    public static EncodedUnroll FromTrajectory(Trajectory trajectory) => new(TrajectoryCodec.ToMessage(trajectory));

    /// <summary>As <see cref="FromTrajectory(Trajectory)"/> with observations stored as <paramref name="observationEncoding"/>.</summary>
    public static EncodedUnroll FromTrajectory(Trajectory trajectory, ObservationEncoding observationEncoding) =>
        new(TrajectoryCodec.ToMessage(trajectory, observationEncoding));

    /// <summary>
    /// Concatenates same-shaped unrolls along B, with the same result as <see cref="Trajectory.Concatenate"/> followed by
    /// encoding: per time step the parts' rows are laid side by side (byte spans for float tensors, bits for flags);
    /// the policy version is the oldest, episodes are re-indexed to their batch columns and the segments name the parts.
    /// Observations keep the parts' encoding when they all share one (every observation starts on a byte); parts that
    /// mix encodings are batched as float32.
    /// </summary>
    public static EncodedUnroll Concatenate(IReadOnlyList<EncodedUnroll> parts)
    {
        ArgumentOutOfRangeException.ThrowIfZero(parts.Count);
        var first = parts[0];
        int envs = 0;
        long version = long.MaxValue;
        foreach (var p in parts)
        {
            if (!p.SharesShapeWith(first))
                throw new ArgumentException("Unrolls to concatenate must share T and per-step sizes.");
            envs += p.Envs;
            version = Math.Min(version, p.PolicyVersion);
        }
        int steps = first.Steps;
        var encoding = first.ObservationEncoding;
        foreach (var p in parts)
        {
            if (p.ObservationEncoding != encoding)
                encoding = ObservationEncoding.Float32;
        }
        int observationBytes = (int)TrajectoryCodec.ObservationBytes(encoding, first.ObservationSize);
        Func<Unroll, ByteString> observations = encoding == first.ObservationEncoding
            ? static m => m.Observations
            : TrajectoryCodec.ObservationsAsFloat32;
        var batch = new Unroll
        {
            SchemaVersion = TrajectoryCodec.SchemaVersion,
            Steps = steps,
            Envs = envs,
            ObservationSize = first.ObservationSize,
            ActionSize = first.ActionSize,
            PolicyOutputSize = first.PolicyOutputSize,
            PolicyVersion = version,
            Source = "",
            Observations = InterleaveBytes(parts, steps + 1, observationBytes, observations),
            ObservationEncoding = encoding,
            Actions = Interleave(parts, steps, first.ActionSize, static m => m.Actions),
            Rewards = Interleave(parts, steps, 1, static m => m.Rewards),
            BehaviourPolicy = Interleave(parts, steps, first.PolicyOutputSize, static m => m.BehaviourPolicy),
            Terminated = InterleaveBits(parts, steps, envs, static m => m.Terminated),
            Truncated = InterleaveBits(parts, steps, envs, static m => m.Truncated),
            Valid = InterleaveBits(parts, steps, envs, static m => m.Valid),
            CoreStateSize = first.Message.CoreStateSize,
        };
        // [B, S] is one row of [1, B, S]: the parts' states side by side.
        if (first.Message.CoreStateSize > 0)
            batch.InitialCoreState = Interleave(parts, 1, first.Message.CoreStateSize, static m => m.InitialCoreState);
        int column = 0;
        foreach (var p in parts)
        {
            foreach (var e in p.Message.Episodes)
                batch.Episodes.Add(new Protos.EpisodeStats { EnvIndex = e.EnvIndex + column, Return = e.Return, Length = e.Length });
            if (p.Message.Segments.Count > 0)
                batch.Segments.Add(p.Message.Segments);
            else
                batch.Segments.Add(new Protos.BatchSegment { Source = p.Source, Envs = p.Envs, PolicyVersion = p.PolicyVersion });
            column += p.Envs;
        }
        return new EncodedUnroll(batch);
    }

    /// <summary>[rows, B, width] float32 tensors side by side along B: row t of every part, in part order.</summary>
    private static ByteString Interleave(IReadOnlyList<EncodedUnroll> parts, int rows, int width, Func<Unroll, ByteString> field) =>
        InterleaveBytes(parts, rows, width * sizeof(float), field);

    /// <summary>[rows, B] tensors of <paramref name="cellBytes"/> bytes per cell side by side along B.</summary>
    private static ByteString InterleaveBytes(IReadOnlyList<EncodedUnroll> parts, int rows, int cellBytes, Func<Unroll, ByteString> field)
    {
        var tensors = new ByteString[parts.Count];
        int total = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            tensors[i] = field(parts[i].Message);
            total += tensors[i].Length;
        }
        var bytes = new byte[total];
        int offset = 0;
        for (int t = 0; t < rows; t++)
        {
            for (int i = 0; i < parts.Count; i++)
            {
                int rowBytes = parts[i].Envs * cellBytes;
                tensors[i].Span.Slice(t * rowBytes, rowBytes).CopyTo(bytes.AsSpan(offset));
                offset += rowBytes;
            }
        }
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>[T, B] packed flags side by side along B (LSB-first bit order, as the codec packs them).</summary>
    private static ByteString InterleaveBits(IReadOnlyList<EncodedUnroll> parts, int steps, int envs, Func<Unroll, ByteString> field)
    {
        var bytes = new byte[(steps * envs + 7) / 8];
        int column = 0;
        foreach (var p in parts)
        {
            var source = field(p.Message).Span;
            int partEnvs = p.Envs;
            for (int t = 0; t < steps; t++)
            {
                for (int e = 0; e < partEnvs; e++)
                {
                    int i = t * partEnvs + e;
                    if ((source[i >> 3] & (1 << (i & 7))) != 0)
                    {
                        int j = t * envs + column + e;
                        bytes[j >> 3] |= (byte)(1 << (j & 7));
                    }
                }
            }
            column += partEnvs;
        }
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }
}
