using System.Runtime.InteropServices;
using System.Text;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// The layout of a KVM binary statistics file (Documentation/virt/kvm/api.rst, KVM_GET_STATS_FD):
/// a 24-byte header, an id string, descriptors, and a data block of u64 values, all in the
/// host's byte order. The header and
/// descriptors never change for a descriptor's life, so they are parsed once; each refresh is a
/// single pread of the data block.
/// </summary>
internal sealed class KvmStatsLayout
{
    internal const int HeaderSize = 24;
    internal const int DescriptorFixedSize = 16;
    // A descriptor's flags: type, unit and base, four bits each (KVM_STATS_*_SHIFT, _MASK).
    internal const int TypeShift = 0, UnitShift = 4, BaseShift = 8, FlagBits = 0xF;
    internal const uint BasePow2 = 1;
    // KVM's name_size is 48; the bounds keep what one descriptor can make this process allocate small.
    private const int MaxNameSize = 256;
    private const int MaxDescriptors = StatNames.MaxStats;

    private KvmStatsLayout(string id, IReadOnlyList<KvmStatDescriptor> descriptors, int dataOffset, int dataLength)
    {
        Id = id;
        Descriptors = descriptors;
        DataOffset = dataOffset;
        DataLength = dataLength;
    }

    /// <summary>"kvm-1234" for a VM, "kvm-1234/vcpu-0" for a vCPU.</summary>
    internal string Id { get; }

    internal IReadOnlyList<KvmStatDescriptor> Descriptors { get; }

    internal int DataOffset { get; }

    /// <summary>Bytes from <see cref="DataOffset"/> that hold every value.</summary>
    internal int DataLength { get; }

    /// <summary>The vCPU index in the id ("kvm-1234/vcpu-3" → 3), or -1 for a VM.</summary>
    internal int VcpuIndex
    {
        get
        {
            int at = Id.LastIndexOf("/vcpu-", StringComparison.Ordinal);
            return at >= 0 && int.TryParse(Id.AsSpan(at + 6), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out int index) ? index : -1;
        }
    }

    internal readonly record struct Header(uint Flags, int NameSize, int DescriptorCount, int IdOffset, int DescriptorOffset, int DataOffset);

    internal static Header ParseHeader(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize)
            throw new KvmStatsFormatException($"stats header truncated: {bytes.Length} of {HeaderSize} bytes");
        var header = new Header(
            MemoryMarshal.Read<uint>(bytes),
            CheckedInt(bytes[4..], "name_size"),
            CheckedInt(bytes[8..], "num_desc"),
            CheckedInt(bytes[12..], "id_offset"),
            CheckedInt(bytes[16..], "desc_offset"),
            CheckedInt(bytes[20..], "data_offset"));
        if (header.NameSize is <= 0 or > MaxNameSize)
            throw new KvmStatsFormatException($"stats header: name_size {header.NameSize} is out of range");
        if (header.DescriptorCount > MaxDescriptors)
            throw new KvmStatsFormatException($"stats header: num_desc {header.DescriptorCount} is out of range");
        return header;
    }

    private static int CheckedInt(ReadOnlySpan<byte> bytes, string what)
    {
        uint value = MemoryMarshal.Read<uint>(bytes);
        return value <= int.MaxValue ? (int)value : throw new KvmStatsFormatException($"stats header: {what} {value} is out of range");
    }

    internal static int DescriptorBlockSize(Header header) => header.DescriptorCount * (DescriptorFixedSize + header.NameSize);

    /// <summary>Parses the id and the descriptors; checks that every value lies inside a sane data block.</summary>
    internal static KvmStatsLayout Parse(Header header, ReadOnlySpan<byte> id, ReadOnlySpan<byte> descriptorBlock)
    {
        if (id.Length < header.NameSize)
            throw new KvmStatsFormatException($"stats id truncated: {id.Length} of {header.NameSize} bytes");
        if (descriptorBlock.Length < DescriptorBlockSize(header))
            throw new KvmStatsFormatException($"stats descriptors truncated: {descriptorBlock.Length} of {DescriptorBlockSize(header)} bytes");

        var descriptors = new List<KvmStatDescriptor>(header.DescriptorCount);
        int dataLength = 0;
        int stride = DescriptorFixedSize + header.NameSize;
        for (int i = 0; i < header.DescriptorCount; i++)
        {
            ReadOnlySpan<byte> d = descriptorBlock.Slice(i * stride, stride);
            uint flags = MemoryMarshal.Read<uint>(d);
            short exponent = MemoryMarshal.Read<short>(d[4..]);
            ushort size = MemoryMarshal.Read<ushort>(d[6..]);
            uint offset = MemoryMarshal.Read<uint>(d[8..]);
            uint bucketSize = MemoryMarshal.Read<uint>(d[12..]);
            string name = CString(d[DescriptorFixedSize..]);

            uint type = (flags >> TypeShift) & FlagBits;
            uint unit = (flags >> UnitShift) & FlagBits;
            uint numberBase = (flags >> BaseShift) & FlagBits;
            if (name.Length == 0)
                throw new KvmStatsFormatException($"stats descriptor {i} has no name");
            if (type > (uint)KvmStatType.LogHistogram || unit > (uint)KvmStatUnit.Boolean || numberBase > BasePow2)
                throw new KvmStatsFormatException($"stats descriptor {name}: unknown type, unit or base (flags 0x{flags:x})");
            if (size == 0 || offset % 8 != 0 || offset > int.MaxValue - size * 8)
                throw new KvmStatsFormatException($"stats descriptor {name}: bad size {size} or offset {offset}");
            var kind = (KvmStatType)type;
            if (kind == KvmStatType.LinearHistogram && bucketSize == 0)
                throw new KvmStatsFormatException($"stats descriptor {name}: linear histogram with bucket size 0");
            if (kind is not (KvmStatType.LinearHistogram or KvmStatType.LogHistogram) && size != 1)
                throw new KvmStatsFormatException($"stats descriptor {name}: {size} values for a single-valued statistic");

            descriptors.Add(new KvmStatDescriptor(name, kind, (KvmStatUnit)unit, numberBase == BasePow2 ? 2 : 10, exponent, size, (int)offset,
                (int)Math.Min(bucketSize, int.MaxValue)));
            dataLength = Math.Max(dataLength, (int)offset + size * 8);
        }
        if (dataLength > 16 << 20)
            throw new KvmStatsFormatException($"stats data block of {dataLength} bytes is implausibly large");
        StatNames.Check(descriptors);
        return new KvmStatsLayout(CString(id[..header.NameSize]), descriptors, header.DataOffset, dataLength);
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? bytes[..end] : bytes);
    }
}
