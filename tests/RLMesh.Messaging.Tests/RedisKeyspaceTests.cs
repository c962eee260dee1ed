using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using RLMesh.Messaging.Redis;

namespace RLMesh.Messaging.Tests;

/// <summary>
/// The Redis Cluster rules the Redis code keeps: all keys of a run share one slot, and every Lua script touches only
/// keys it is given in KEYS. (RLMesh.Integration.Tests runs the same code against a cluster-enabled redis-server.)
/// </summary>
public sealed class RedisKeyspaceTests
{
    [Theory]
    // The Redis Cluster specification's CRC16 check value, and what CLUSTER KEYSLOT answers on redis-server 7.0.
    [InlineData("123456789", 12739)]
    [InlineData("foo", 12182)]
    [InlineData("somekey", 11058)]
    [InlineData("{user1000}.following", 3443)]
    [InlineData("foo{}{bar}", 8363)]
    [InlineData("foo{{bar}}zap", 4015)]
    [InlineData("foo{bar}{zap}", 5061)]
    [InlineData("rlmesh:default:latest", 2114)]
    [InlineData("rlmesh:default:w:1:manifest", 6896)]
    [InlineData("rlmesh:{default}:latest", 5718)]
    [InlineData("rlmesh:{run-é}:x", 10454)]
    public void TheSlotFunctionAgreesWithRedis(string key, int slot) => Assert.Equal(slot, ClusterSlot.Of(key));

    [Theory]
    [InlineData("rlmesh:default", "rlmesh:{default}")]
    [InlineData("rlmesh:bench-1:cluster", "rlmesh:bench-1:{cluster}")]
    [InlineData("run", "{run}")]
    [InlineData("rlmesh:{run}", "rlmesh:{run}")]
    [InlineData("{team}:rlmesh:run", "{team}:rlmesh:run")]
    public void APrefixGetsAHashTagUnlessItHasOne(string keyPrefix, string tagged) =>
        Assert.Equal(tagged, new RedisKeyspace(keyPrefix).Prefix);

    [Theory]
    [InlineData("")]
    [InlineData("rlmesh:")]
    [InlineData("rlmesh:{}")]
    [InlineData("rlmesh:{run")]
    [InlineData("rlmesh:run}")]
    public void APrefixThatCannotCarryAHashTagIsRefusedWithAClearError(string keyPrefix)
    {
        var error = Assert.Throws<ArgumentException>(() => new RedisOptions { KeyPrefix = keyPrefix }.Validate());
        Assert.Contains("KeyPrefix", error.Message);
    }

    private static readonly Gen<string> RunNames =
        from length in Gen.Choose(1, 24)
        from chars in Gen.ArrayOf(Gen.Elements("abcxyz019-_.é/ ABC".ToCharArray()), length)
        select new string(chars);

    [Fact]
    public void EveryKeyOfARunHashesToTheSlotOfItsLatestKey()
    {
        var cases =
            from run in RunNames
            from tagged in Gen.Elements(false, true)
            from version in Gen.Choose(0, int.MaxValue)
            from chunk in Gen.Choose(0, 4096)
            from runner in RunNames
            select (Prefix: tagged ? $"rlmesh:{{{run}}}" : $"rlmesh:{run}", Version: (long)version * 3, Chunk: chunk, Runner: runner);
        Prop.ForAll(Arb.From(cases), c =>
        {
            var keys = new RedisKeyspace(c.Prefix);
            int slot = ClusterSlot.Of(keys.Latest);
            string[] all =
            [
                keys.Versions, keys.Manifest(c.Version), keys.Chunk(c.Version, c.Chunk), keys.Chunk(c.Version + 1, 0),
                keys.Runners, keys.Runner(c.Runner), keys.Learner, keys.ApsDivergence, keys.ApsTau,
            ];
            Assert.All(all, key => Assert.Equal(slot, ClusterSlot.Of(key)));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void RunsWithDifferentNamesSpreadOverSlots()
    {
        // The tag is the run, not a constant: one slot for every run would put every run on one cluster node.
        var slots = Enumerable.Range(0, 64).Select(i => ClusterSlot.Of(new RedisKeyspace($"rlmesh:run-{i}").Latest)).ToHashSet();
        Assert.True(slots.Count > 32, $"{slots.Count} distinct slots for 64 runs");
    }

    private static readonly Regex RedisCall = new(@"redis\.call\(\s*'(?<command>\w+)'\s*,\s*(?<first>[^,)]+)", RegexOptions.Compiled);

    [Fact]
    public void EveryScriptTouchesOnlyKeysItIsGivenInKeys()
    {
        Assert.NotEmpty(RedisWeightStore.LuaScripts);
        foreach (var (name, source) in RedisWeightStore.LuaScripts)
        {
            var calls = RedisCall.Matches(source);
            Assert.True(calls.Count > 0, $"{name} makes no redis.call");
            Assert.Equal(Regex.Matches(source, @"redis\.(p?call)\b").Count, calls.Count);
            foreach (Match call in calls)
            {
                string command = call.Groups["command"].Value.ToUpperInvariant();
                string first = call.Groups["first"].Value.Trim();
                // PUBLISH names a channel, not a key; every other command here takes exactly one key, first.
                string expected = command == "PUBLISH" ? @"^ARGV\[\d+\]$" : @"^KEYS\[\d+\]$";
                Assert.True(Regex.IsMatch(first, expected), $"{name}: {command} {first} is not a key passed in KEYS");
                Assert.Contains(command, new[] { "GET", "SET", "EXISTS", "ZADD", "PUBLISH" });
            }
            Assert.DoesNotContain("..", source); // no key or anything else assembled from strings inside a script
        }
    }

    [Fact]
    public void TheScriptCheckCatchesAKeyBuiltInsideAScript()
    {
        // The load script as it was before keys were passed in KEYS: the check above must reject this shape.
        const string builtKey = "local prefix = ARGV[2] .. ':w:' .. latest\nreturn redis.call('GET', prefix .. ':manifest')";
        var call = RedisCall.Match(builtKey);
        Assert.True(call.Success);
        Assert.DoesNotMatch(@"^KEYS\[\d+\]$", call.Groups["first"].Value.Trim());
    }
}

/// <summary>The Redis Cluster key slot: CRC16/XMODEM of the key's hash tag (or of the whole key without one) mod 16384.</summary>
internal static class ClusterSlot
{
    public static int Of(string key)
    {
        ReadOnlySpan<byte> hashed = Encoding.UTF8.GetBytes(key);
        int open = hashed.IndexOf((byte)'{');
        if (open >= 0)
        {
            int length = hashed[(open + 1)..].IndexOf((byte)'}');
            if (length > 0)
                hashed = hashed.Slice(open + 1, length);
        }
        return Crc16(hashed) & 16383;
    }

    private static int Crc16(ReadOnlySpan<byte> data)
    {
        int crc = 0;
        foreach (byte b in data)
        {
            crc ^= b << 8;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
        }
        return crc;
    }
}
