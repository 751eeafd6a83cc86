using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Perf
    {
        // perf_event_attr flag bits (the C bitfield after read_format).
        internal const ulong AttrFlagDisabled = 1 << 0;

        /// <summary>The first published layout of perf_event_attr (PERF_ATTR_SIZE_VER1, 72 bytes).
        /// Every later kernel accepts it; the fields after it default to zero.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct PerfEventAttr
        {
            internal uint Type;
            internal uint Size;
            internal ulong Config;
            internal ulong SamplePeriod;
            internal ulong SampleType;
            internal ulong ReadFormat;
            internal ulong Flags;
            internal uint WakeupEvents;
            internal uint BpType;
            internal ulong Config1;
            internal ulong Config2;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static unsafe partial long Syscall(long number, PerfEventAttr* attr, int pid, int cpu, int groupFd, ulong flags);

        /// <summary>perf_event_open(2), which has no libc wrapper: a descriptor or -errno.</summary>
        internal static unsafe int PerfEventOpen(ref PerfEventAttr attr, int pid, int cpu, int groupFd, ulong flags)
        {
            fixed (PerfEventAttr* p = &attr)
            {
                long fd = Syscall(Abi.SYS_perf_event_open, p, pid, cpu, groupFd, flags);
                return fd >= 0 ? (int)fd : -Errno.Last;
            }
        }
    }
}
