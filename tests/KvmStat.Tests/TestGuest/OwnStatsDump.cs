using System.Buffers.Binary;
using System.Text;

namespace KvmStat.Tests.TestGuest;

/// <summary>
/// The test guest's own reading of a KVM binary-statistics descriptor, written from the layout in
/// the kernel's documentation (Documentation/virt/kvm/api.rst, KVM_GET_STATS_FD) and nothing of
/// kvm_stat's, so that the tool's parser is checked against an independent reading:
/// a header {u32 flags, name_size, num_desc, id_offset, desc_offset, data_offset}, descriptors
/// {u32 flags; s16 exponent; u16 size; u32 offset; u32 bucket_size; char name[name_size]}, and
/// the data block of u64 values at data_offset + offset.
/// </summary>
internal static class OwnStatsDump
{
    /// <summary>"stats ID NAME V1,V2,..." for every statistic of the descriptor.</summary>
    internal static IEnumerable<string> Lines(int fd)
    {
        byte[] header = Read(fd, 0, 24);
        uint nameSize = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        uint idOffset = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        uint descriptorOffset = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16));
        uint dataOffset = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(20));
        string id = CString(Read(fd, idOffset, (int)nameSize));
        int descriptorSize = 16 + (int)nameSize;
        byte[] descriptors = Read(fd, descriptorOffset, descriptorSize * (int)count);
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> d = descriptors.AsSpan(i * descriptorSize, descriptorSize);
            ushort size = BinaryPrimitives.ReadUInt16LittleEndian(d[6..]);
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            string name = CString(d[16..].ToArray());
            byte[] data = Read(fd, dataOffset + offset, 8 * size);
            var values = new List<ulong>(size);
            for (int v = 0; v < size; v++)
                values.Add(BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(8 * v)));
            lines.Add($"stats {id} {name} {string.Join(",", values)}");
        }
        return lines;
    }

    private static unsafe byte[] Read(int fd, long offset, int length)
    {
        byte[] buffer = new byte[length];
        nint n = Interop.Libc.PReadRetrying(fd, buffer, offset);
        if (n != length)
            throw new IOException($"pread of {length} bytes at {offset} of a statistics descriptor gave {n}");
        return buffer;
    }

    private static string CString(byte[] bytes)
    {
        int end = Array.IndexOf(bytes, (byte)0);
        return Encoding.ASCII.GetString(bytes, 0, end < 0 ? bytes.Length : end);
    }
}
