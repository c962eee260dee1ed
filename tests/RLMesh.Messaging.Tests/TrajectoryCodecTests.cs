using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using RLMesh.Core.Data;
using RLMesh.Messaging.Codec;
using RLMesh.Messaging.Protos;

namespace RLMesh.Messaging.Tests;

public sealed class TrajectoryCodecTests
{
    private static readonly Gen<Trajectory> Trajectories =
        from steps in Gen.Choose(1, 12)
        from envs in Gen.Choose(1, 5)
        from obs in Gen.Choose(1, 6)
        from act in Gen.Choose(1, 3)
        from pol in Gen.Choose(1, 4)
        from seed in Gen.Choose(0, int.MaxValue)
        from version in Gen.Choose(0, int.MaxValue)
        select Sample(steps, envs, obs, act, pol, seed, version);

    [Fact]
    public void AnyTrajectoryRoundTripsExactly()
    {
        Prop.ForAll(Arb.From(Trajectories), trajectory =>
        {
            var decoded = TrajectoryCodec.Decode(TrajectoryCodec.Encode(trajectory));
            AssertIdentical(trajectory, decoded);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void FloatsOfEveryFiniteValueRoundTripBitForBit()
    {
        var t = new Trajectory(1, 1, 4, 1, 1);
        float[] extremes = [float.MaxValue, float.MinValue, float.Epsilon, -0f];
        extremes.CopyTo(t.Observations, 0);
        var decoded = TrajectoryCodec.Decode(TrajectoryCodec.Encode(t));
        Assert.Equal(extremes.Select(BitConverter.SingleToInt32Bits), decoded.Observations[..4].Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void EncodingIntoABufferWriterGivesTheSameBytes()
    {
        var t = Sample(3, 2, 4, 1, 2, seed: 7, version: 9);
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        TrajectoryCodec.Encode(t, writer);
        Assert.Equal(TrajectoryCodec.Encode(t), writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void GarbageBytesAreRejectedAsNotProtobuf()
    {
        var e = Assert.Throws<InvalidMessageException>(() => TrajectoryCodec.Decode([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));
        Assert.Contains("not a protobuf", e.Reason);
    }

    [Fact]
    public void AnEmptyPayloadIsRejectedForLackingASchemaVersion()
    {
        var e = Assert.Throws<InvalidMessageException>(() => TrajectoryCodec.Decode([]));
        Assert.Contains("schema_version", e.Reason);
    }

    [Fact]
    public void AnUnknownSchemaVersionIsRejected()
    {
        var e = Reject(m => m.SchemaVersion = 2);
        Assert.Contains("schema_version 2 is unknown", e.Reason);
    }

    [Theory]
    [InlineData("steps", 0)]
    [InlineData("envs", -1)]
    [InlineData("observation_size", 0)]
    [InlineData("action_size", 0)]
    [InlineData("policy_output_size", -5)]
    public void NonPositiveDimensionsAreRejected(string field, int value)
    {
        var e = Reject(m =>
        {
            switch (field)
            {
                case "steps": m.Steps = value; break;
                case "envs": m.Envs = value; break;
                case "observation_size": m.ObservationSize = value; break;
                case "action_size": m.ActionSize = value; break;
                default: m.PolicyOutputSize = value; break;
            }
        });
        Assert.Contains($"{field} is {value}", e.Reason);
    }

    [Fact]
    public void HugeDimensionsAreRejectedBeforeAnyAllocation()
    {
        var e = Reject(m => m.Steps = int.MaxValue);
        Assert.Contains("limit", e.Reason);
    }

    [Theory]
    [InlineData("observations")]
    [InlineData("actions")]
    [InlineData("rewards")]
    [InlineData("behaviour_policy")]
    [InlineData("terminated")]
    [InlineData("truncated")]
    [InlineData("valid")]
    public void ByteLengthsThatDoNotMatchTheDimensionsAreRejected(string field)
    {
        var e = Reject(m =>
        {
            var shorter = ByteString.CopyFrom(Field(m, field).Span[..^1]);
            SetField(m, field, shorter);
        });
        Assert.Contains($"{field} has", e.Reason);
    }

    [Fact]
    public void FlagBitsPastTheLastStepAreRejected()
    {
        // 3 steps x 1 env = 3 flags in one byte; bit 7 lies past them.
        var e = Reject(m => m.Valid = ByteString.CopyFrom(0x80), steps: 3, envs: 1);
        Assert.Contains("bits set past", e.Reason);
    }

    [Theory]
    [InlineData("observations", float.NaN)]
    [InlineData("observations", float.PositiveInfinity)]
    [InlineData("actions", float.NegativeInfinity)]
    [InlineData("rewards", float.NaN)]
    [InlineData("behaviour_policy", float.PositiveInfinity)]
    [InlineData("behaviour_policy", float.NaN)]
    public void NonFiniteNumbersAreRejectedWherever(string field, float poison)
    {
        var e = Reject(m =>
        {
            var bytes = Field(m, field).ToByteArray();
            BitConverter.GetBytes(poison).CopyTo(bytes, bytes.Length - 4);
            SetField(m, field, ByteString.CopyFrom(bytes));
        });
        Assert.Contains(field, e.Reason);
        Assert.Contains("NaN and infinity are not accepted", e.Reason);
    }

    [Fact]
    public void EpisodesOutsideTheEnvRangeAreRejected()
    {
        var e = Reject(m => m.Episodes.Add(new Protos.EpisodeStats { EnvIndex = 99, Return = 1, Length = 3 }));
        Assert.Contains("env_index 99", e.Reason);
    }

    [Fact]
    public void NonFiniteEpisodeReturnsAreRejected()
    {
        var e = Reject(m => m.Episodes.Add(new Protos.EpisodeStats { EnvIndex = 0, Return = double.NaN, Length = 3 }));
        Assert.Contains("return", e.Reason);
    }

    /// <summary>A deterministic, fully populated trajectory (every flag pattern, episodes, odd sizes).</summary>
    internal static Trajectory Sample(int steps, int envs, int obs, int act, int pol, int seed, int version, int coreStateSize = 0)
    {
        var random = new Random(seed);
        var t = new Trajectory(steps, envs, obs, act, pol, coreStateSize) { PolicyVersion = version, Source = $"runner-{seed % 17}" };
        Fill(t.InitialCoreState, random);
        Fill(t.Observations, random);
        Fill(t.Actions, random);
        Fill(t.Rewards, random);
        Fill(t.BehaviourPolicy, random);
        for (int i = 0; i < t.Frames; i++)
        {
            t.Terminated[i] = random.Next(5) == 0;
            t.Truncated[i] = random.Next(7) == 0;
            t.Valid[i] = random.Next(9) != 0;
        }
        for (int i = random.Next(3); i > 0; i--)
            t.Episodes.Add(new Core.Data.EpisodeStats(random.Next(envs), random.NextDouble() * 500 - 100, random.Next(1, 500)));
        return t;
    }

    internal static void AssertIdentical(Trajectory expected, Trajectory actual)
    {
        Assert.Equal(
            (expected.Steps, expected.Envs, expected.ObservationSize, expected.ActionSize, expected.PolicyOutputSize),
            (actual.Steps, actual.Envs, actual.ObservationSize, actual.ActionSize, actual.PolicyOutputSize));
        Assert.Equal(expected.Observations, actual.Observations);
        Assert.Equal(expected.Actions, actual.Actions);
        Assert.Equal(expected.Rewards, actual.Rewards);
        Assert.Equal(expected.BehaviourPolicy, actual.BehaviourPolicy);
        Assert.Equal(expected.Terminated, actual.Terminated);
        Assert.Equal(expected.Truncated, actual.Truncated);
        Assert.Equal(expected.Valid, actual.Valid);
        Assert.Equal(expected.CoreStateSize, actual.CoreStateSize);
        Assert.Equal(expected.InitialCoreState, actual.InitialCoreState);
        Assert.Equal(expected.PolicyVersion, actual.PolicyVersion);
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.Episodes, actual.Episodes);
    }

    private static void Fill(float[] values, Random random)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 20 - 10);
    }

    private static InvalidMessageException Reject(Action<Unroll> spoil, int steps = 4, int envs = 3)
    {
        var message = TrajectoryCodec.ToMessage(Sample(steps, envs, 2, 1, 2, seed: 1, version: 1));
        spoil(message);
        var bytes = message.ToByteArray();
        var rejected = Assert.Throws<InvalidMessageException>(() => TrajectoryCodec.Decode(bytes));
        // The wire-form reader (replay's) must refuse exactly what the decoding reader refuses, for the same reason.
        var rejectedEncoded = Assert.Throws<InvalidMessageException>(() => TrajectoryCodec.DecodeEncoded(bytes));
        Assert.Equal(rejected.Reason, rejectedEncoded.Reason);
        return rejected;
    }

    private static ByteString Field(Unroll m, string field) => field switch
    {
        "observations" => m.Observations,
        "actions" => m.Actions,
        "rewards" => m.Rewards,
        "behaviour_policy" => m.BehaviourPolicy,
        "terminated" => m.Terminated,
        "truncated" => m.Truncated,
        "valid" => m.Valid,
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    private static void SetField(Unroll m, string field, ByteString value)
    {
        switch (field)
        {
            case "observations": m.Observations = value; break;
            case "actions": m.Actions = value; break;
            case "rewards": m.Rewards = value; break;
            case "behaviour_policy": m.BehaviourPolicy = value; break;
            case "terminated": m.Terminated = value; break;
            case "truncated": m.Truncated = value; break;
            case "valid": m.Valid = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(field));
        }
    }
}
