using System.Runtime.InteropServices;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// A KVM binary statistics descriptor this process holds (from KVM_GET_STATS_FD, or copied from a
/// VMM with pidfd_getfd): the layout read once, then one pread of the data block per refresh.
/// </summary>
internal sealed class KvmStatsFile : IStatsBlock, IDisposable
{
    private readonly byte[] _data;
    private readonly Interop.FileDescriptor _fd;

    private KvmStatsFile(Interop.FileDescriptor fd, KvmStatsLayout layout)
    {
        _fd = fd;
        Layout = layout;
        _data = new byte[layout.DataLength];
    }

    internal KvmStatsLayout Layout { get; }

    public IReadOnlyList<KvmStatDescriptor> Descriptors => Layout.Descriptors;

    public int VcpuIndex => Layout.VcpuIndex;

    /// <summary>Takes ownership of <paramref name="fd"/> and reads its layout; throws on a bad one (and closes it).</summary>
    internal static KvmStatsFile Open(Interop.FileDescriptor fd)
    {
        try
        {
            Span<byte> headerBytes = stackalloc byte[KvmStatsLayout.HeaderSize];
            ReadExactly(fd.Number, headerBytes, 0, "header");
            KvmStatsLayout.Header header = KvmStatsLayout.ParseHeader(headerBytes);
            byte[] id = new byte[header.NameSize];
            ReadExactly(fd.Number, id, header.IdOffset, "id");
            byte[] descriptors = new byte[KvmStatsLayout.DescriptorBlockSize(header)];
            ReadExactly(fd.Number, descriptors, header.DescriptorOffset, "descriptors");
            return new KvmStatsFile(fd, KvmStatsLayout.Parse(header, id, descriptors));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static void ReadExactly(int fd, Span<byte> buffer, long offset, string what)
    {
        nint n = Interop.Libc.PReadRetrying(fd, buffer, offset);
        if (n < 0)
            throw new KvmStatsFormatException($"cannot read the stats {what}: {Interop.Errno.Describe((int)-n)}");
        if (n < buffer.Length)
            throw new KvmStatsFormatException($"stats {what} truncated: {n} of {buffer.Length} bytes");
    }

    /// <summary>Reads every value with one pread; returns 0 or an errno.</summary>
    internal int Refresh()
    {
        nint n = Interop.Libc.PReadRetrying(_fd.Number, _data, Layout.DataOffset);
        if (n < 0)
            return (int)-n;
        return n < _data.Length ? Interop.Errno.EIO : 0;
    }

    /// <summary>The values of one descriptor from the last <see cref="Refresh"/> (native-endian u64s).</summary>
    public ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor) =>
        MemoryMarshal.Cast<byte, ulong>(_data.AsSpan(descriptor.Offset, descriptor.Size * 8));

    public void Dispose() => _fd.Dispose();
}
