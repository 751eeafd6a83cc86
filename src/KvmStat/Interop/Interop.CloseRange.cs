using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class ForkChild
    {
        // close_range(2) through syscall(2): glibc gained a wrapper only in 2.34.
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall")]
        [SuppressGCTransition]
        private static partial long Syscall(long number, uint first, uint last, uint flags);

        /// <summary>
        /// Closes descriptors first..last; falls back to close() one by one on kernels before 5.9.
        /// <paramref name="closeRange"/> is Abi.SYS_close_range, read before the fork: a forked child reads no statics.
        /// </summary>
        internal static void CloseRange(long closeRange, uint first, uint last, uint highestOpen)
        {
            if (first > last)
                return;
            if (Syscall(closeRange, first, last, 0) == 0)
                return;
            uint end = Math.Min(last, highestOpen);
            for (uint fd = first; fd <= end; fd++)
                _ = Close((int)fd);
        }
    }
}
