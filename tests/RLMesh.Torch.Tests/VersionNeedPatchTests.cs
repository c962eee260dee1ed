using System.Text;
using Xunit;

namespace RLMesh.Torch.Tests;

/// <summary>
/// The build marks libLibTorchSharp.so's GLIBCXX_3.4.32 need weak in this output's copy only where the system
/// libstdc++ lacks that version, and never touches the NuGet cache's copy (which the output may hard-link).
/// </summary>
public class VersionNeedPatchTests
{
    private const string Version = "GLIBCXX_3.4.32";
    private const ushort Weak = 0x2;

    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static string CacheCopy
    {
        get
        {
            string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
                ? configured
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            return Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        }
    }

    private static bool SystemProvidesVersion()
    {
        const string libstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!File.Exists(libstdcxx)) return false;
        byte[] bytes = File.ReadAllBytes(libstdcxx);
        byte[] needle = Encoding.ASCII.GetBytes(Version + "\0");
        return bytes.AsSpan().IndexOf(needle) >= 0;
    }

    [Fact]
    public void TheOutputCopyIsWeakExactlyWhenTheSystemLacksTheVersion()
    {
        ushort flags = VernauxFlags(File.ReadAllBytes(OutputCopy), Version);
        Assert.Equal(!SystemProvidesVersion(), (flags & Weak) != 0);
    }

    [Fact]
    public void TheNuGetCacheCopyIsLeftAsPublished()
    {
        Assert.True(File.Exists(CacheCopy), $"expected the package in the NuGet cache at {CacheCopy}");
        Assert.Equal(0, VernauxFlags(File.ReadAllBytes(CacheCopy), Version) & Weak);
    }

    // vna_flags of the .gnu.version_r entry named `name` (ELF64, little-endian).
    private static ushort VernauxFlags(byte[] elf, string name)
    {
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = (int)(shoff + i * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe) continue;
            int verneed = (int)BitConverter.ToInt64(elf, sh + 0x18);
            int strtab = (int)BitConverter.ToInt64(elf, (int)(shoff + BitConverter.ToUInt32(elf, sh + 0x28) * shentsize) + 0x18);
            for (uint n = 0, count = BitConverter.ToUInt32(elf, sh + 0x2C); n < count; n++)
            {
                int aux = verneed + (int)BitConverter.ToUInt32(elf, verneed + 8);
                for (int a = 0; a < BitConverter.ToUInt16(elf, verneed + 2); a++)
                {
                    int at = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, at);
                    if (Encoding.ASCII.GetString(elf, at, end - at) == name) return BitConverter.ToUInt16(elf, aux + 4);
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                verneed += (int)BitConverter.ToUInt32(elf, verneed + 12);
            }
        }
        throw new InvalidOperationException($"no {name} version need");
    }
}
