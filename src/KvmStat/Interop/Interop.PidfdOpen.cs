using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static partial long SyscallPidfdOpen(long number, int pid, uint flags);

        /// <summary>pidfd_open(2): a descriptor for a process, or -errno.</summary>
        internal static int PidfdOpen(int pid)
        {
            long fd = SyscallPidfdOpen(Abi.SYS_pidfd_open, pid, 0);
            return fd >= 0 ? (int)fd : -Errno.Last;
        }
    }
}
