using System.Runtime.InteropServices;
using System.Text;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Tests.Infrastructure;

/// <summary>Builds KVM binary statistics files byte by byte, as the kernel lays them out.</summary>
internal sealed class StatsBlob
{
    internal const int NameSize = 48;

    private readonly List<(uint Flags, short Exponent, ushort Size, uint BucketSize, string Name, ulong[] Values)> _stats = [];

    internal string Id { get; set; } = "kvm-1234/vcpu-0";

    internal static uint Flags(KvmStatType type, KvmStatUnit unit = KvmStatUnit.None, bool base2 = false) =>
        (uint)type | (uint)unit << 4 | (base2 ? 1u << 8 : 0);

    internal StatsBlob Add(string name, KvmStatType type, KvmStatUnit unit, short exponent, params ulong[] values) =>
        Add(name, Flags(type, unit), exponent, 0, values);

    internal StatsBlob Add(string name, uint flags, short exponent, uint bucketSize, params ulong[] values)
    {
        _stats.Add((flags, exponent, (ushort)values.Length, bucketSize, name, values));
        return this;
    }

    internal byte[] Build()
    {
        int descriptorSize = 16 + NameSize;
        int idOffset = 24;
        int descOffset = idOffset + NameSize;
        int dataOffset = descOffset + _stats.Count * descriptorSize;
        int dataLength = _stats.Sum(s => s.Values.Length * 8);
        byte[] blob = new byte[dataOffset + dataLength];
        Span<byte> span = blob;
        Write(span, 0, 0u);
        Write(span, 4, (uint)NameSize);
        Write(span, 8, (uint)_stats.Count);
        Write(span, 12, (uint)idOffset);
        Write(span, 16, (uint)descOffset);
        Write(span, 20, (uint)dataOffset);
        Encoding.ASCII.GetBytes(Id).CopyTo(span[idOffset..]);
        int offset = 0;
        for (int i = 0; i < _stats.Count; i++)
        {
            var s = _stats[i];
            int at = descOffset + i * descriptorSize;
            Write(span, at, s.Flags);
            Write(span, at + 4, s.Exponent);
            Write(span, at + 6, s.Size);
            Write(span, at + 8, (uint)offset);
            Write(span, at + 12, s.BucketSize);
            Encoding.ASCII.GetBytes(s.Name).CopyTo(span[(at + 16)..]);
            for (int v = 0; v < s.Values.Length; v++)
                Write(span, dataOffset + offset + v * 8, s.Values[v]);
            offset += s.Values.Length * 8;
        }
        return blob;
    }

    private static void Write<T>(Span<byte> span, int at, T value) where T : unmanaged =>
        MemoryMarshal.Write(span[at..], in value);

    /// <summary>Writes the bytes to a file and opens it as a stats descriptor (pread works the same).</summary>
    internal static KvmStatsFile Open(byte[] bytes, string folder)
    {
        string path = Path.Join(folder, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, bytes);
        int fd = Interop.Libc.Open(Interop.NulTerminated(path), Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC);
        return KvmStatsFile.Open(new Interop.FileDescriptor(fd));
    }
}
