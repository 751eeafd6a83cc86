using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static partial long SyscallPidfdGetfd(long number, int pidfd, int targetFd, uint flags);

        /// <summary>
        /// pidfd_getfd(2): a copy, in this process, of another process's descriptor (needs
        /// PTRACE_MODE_ATTACH, i.e. root here). The copy is close-on-exec. A descriptor or -errno.
        /// </summary>
        internal static int PidfdGetfd(int pidfd, int targetFd)
        {
            long fd = SyscallPidfdGetfd(Abi.SYS_pidfd_getfd, pidfd, targetFd, 0);
            return fd >= 0 ? (int)fd : -Errno.Last;
        }
    }
}
