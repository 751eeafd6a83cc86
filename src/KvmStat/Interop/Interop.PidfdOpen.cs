using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // pidfd_open and pidfd_getfd came after the syscall tables were unified: one number everywhere.
        private const long PidfdOpenSyscall = 434;

        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static partial long SyscallPidfdOpen(long number, int pid, uint flags);

        /// <summary>pidfd_open(2): a descriptor for a process; -errno on failure.</summary>
        internal static int PidfdOpen(int pid)
        {
            long fd = SyscallPidfdOpen(PidfdOpenSyscall, pid, 0);
            return fd >= 0 ? (int)fd : -Errno.Last;
        }
    }
}
