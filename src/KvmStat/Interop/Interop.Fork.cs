using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // No GC transition: the child of a fork must not wait for a collection that the
        // parent's other threads, which do not exist in the child, might have started.
        [LibraryImport(Libraries.Libc, EntryPoint = "fork", SetLastError = true)]
        [SuppressGCTransition]
        private static partial int ForkRaw();

        /// <summary>fork(2): the child's pid in the parent, 0 in the child, or -errno.</summary>
        internal static int Fork()
        {
            int pid = ForkRaw();
            return pid >= 0 ? pid : -Errno.Last;
        }
    }
}
