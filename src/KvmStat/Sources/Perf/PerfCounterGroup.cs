using System.Runtime.InteropServices;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// One perf event group: a counter per field, all on one CPU (system-wide) or one thread.
/// The whole group is read with a single read() from its leader.
/// </summary>
internal sealed class PerfCounterGroup
{
    private readonly Interop.FileDescriptor[] _descriptors;
    private readonly int _leader;
    private readonly byte[] _readBuffer;

    private PerfCounterGroup(Interop.FileDescriptor[] descriptors, int pid, int cpu)
    {
        _descriptors = descriptors;
        _leader = descriptors[0].Number;
        _readBuffer = new byte[8 * (1 + descriptors.Length)];
        Pid = pid;
        Cpu = cpu;
    }

    /// <summary>The thread counted, or -1 for all threads of <see cref="Cpu"/>.</summary>
    internal int Pid { get; }

    /// <summary>The CPU counted, or -1 for any CPU <see cref="Pid"/> runs on.</summary>
    internal int Cpu { get; }

    internal int Count => _descriptors.Length;

    internal IReadOnlyList<Interop.FileDescriptor> Descriptors => _descriptors;

    /// <summary>
    /// Opens a disabled group; <see cref="Enable"/> starts all its counters at once.
    /// On failure every descriptor opened so far is closed and the exception names the field.
    /// </summary>
    internal static PerfCounterGroup Open(IReadOnlyList<TracepointField> fields, IReadOnlyList<int> tracepointIds, int pid, int cpu)
    {
        var descriptors = new Interop.FileDescriptor[fields.Count];
        int opened = 0;
        try
        {
            for (int i = 0; i < fields.Count; i++)
            {
                var attr = new Interop.Perf.PerfEventAttr
                {
                    Type = Interop.Abi.PERF_TYPE_TRACEPOINT,
                    Size = (uint)Interop.Abi.PerfEventAttrSize,
                    Config = (ulong)tracepointIds[i],
                    ReadFormat = Interop.Abi.PERF_FORMAT_GROUP,
                    Flags = i == 0 ? Interop.Perf.AttrFlagDisabled : 0,
                };
                int leader = i == 0 ? -1 : descriptors[0].Number;
                int fd = Interop.Perf.PerfEventOpen(ref attr, pid, cpu, leader, Interop.Abi.PERF_FLAG_FD_CLOEXEC);
                if (fd < 0)
                    throw new PerfOpenException(-fd, fields[i], pid, cpu);
                descriptors[opened++] = new Interop.FileDescriptor(fd);

                if (fields[i].Filter is string filter)
                {
                    int errno = SetFilter(fd, filter);
                    if (errno != 0)
                        throw new PerfOpenException(errno, fields[i], pid, cpu, filterFailed: true);
                }
            }
        }
        catch
        {
            for (int i = 0; i < opened; i++)
                descriptors[i].Dispose();
            throw;
        }
        return new PerfCounterGroup(descriptors, pid, cpu);
    }

    /// <summary>PERF_EVENT_IOC_SET_FILTER: 0 or the errno.</summary>
    private static unsafe int SetFilter(int fd, string filter)
    {
        byte[] text = Interop.NulTerminated(filter);
        fixed (byte* p = text)
        {
            return -Interop.Libc.Ioctl(fd, Interop.Abi.PERF_EVENT_IOC_SET_FILTER, (nint)p);
        }
    }

    /// <summary>Starts every counter of the group at once: 0 or the errno.</summary>
    internal int Enable() => -Interop.Libc.Ioctl(_leader, Interop.Abi.PERF_EVENT_IOC_ENABLE, (nint)Interop.Abi.PERF_IOC_FLAG_GROUP);

    /// <summary>
    /// Reads every counter of the group with one read() and adds each to <paramref name="sums"/>.
    /// A group stays readable after its thread exits; a read that fails is an error, never a zero.
    /// </summary>
    internal void ReadInto(Span<ulong> sums)
    {
        nint n = Interop.Libc.ReadRetrying(_leader, _readBuffer);
        if (n < 8)
            throw new EnvironmentException($"reading perf counters failed ({Interop.Errno.Describe(n < 0 ? (int)-n : Interop.Errno.EIO)}).",
                "This should not happen: please report it, with the kernel version.");
        ReadOnlySpan<byte> data = _readBuffer.AsSpan(0, (int)n);
        // The kernel writes native-endian u64s: { nr, value[nr] }.
        int count = (int)Math.Min(MemoryMarshal.Read<ulong>(data), (ulong)_descriptors.Length);
        count = Math.Min(count, (data.Length - 8) / 8);
        ReadOnlySpan<ulong> values = MemoryMarshal.Cast<byte, ulong>(data.Slice(8, count * 8));
        for (int i = 0; i < values.Length; i++)
            sums[i] += values[i];
    }
}
