using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Perf
    {
        internal const uint PERF_TYPE_TRACEPOINT = 2;
        internal const ulong PERF_FORMAT_GROUP = 1 << 3;
        internal const ulong PERF_FLAG_FD_CLOEXEC = 1 << 3;

        // perf_event_attr flag bits (the C bitfield after read_format).
        internal const ulong AttrFlagDisabled = 1 << 0;

        /// <summary>The first published layout of perf_event_attr (PERF_ATTR_SIZE_VER0/1, 72 bytes).
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

        internal const int PerfEventAttrSize = 72;

        /// <summary>perf_event_open has no libc wrapper: it is reached through syscall(2).</summary>
        internal static int SyscallNumber => RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 298,
            Architecture.Arm64 => 241,
            Architecture.S390x => 331,
            Architecture.Ppc64le => 319,
            _ => throw new PlatformNotSupportedException("perf_event_open: unknown architecture"),
        };

        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static unsafe partial long Syscall(long number, PerfEventAttr* attr, int pid, int cpu, int groupFd, ulong flags);

        internal static unsafe int PerfEventOpen(ref PerfEventAttr attr, int pid, int cpu, int groupFd, ulong flags)
        {
            fixed (PerfEventAttr* p = &attr)
            {
                return (int)Syscall(SyscallNumber, p, pid, cpu, groupFd, flags);
            }
        }
    }
}
