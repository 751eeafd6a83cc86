using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "openat", SetLastError = true)]
        private static unsafe partial int OpenAtRaw(int directory, byte* path, int flags, int mode);

        /// <summary>
        /// openat(2): a NUL-terminated UTF-8 path relative to an open directory (or to the working
        /// directory with <see cref="AbiTable.AT_FDCWD"/>); the descriptor or -errno. Opening many files of one
        /// folder this way spares the kernel walking the folder's whole path for each.
        /// </summary>
        internal static unsafe int OpenAt(int directory, ReadOnlySpan<byte> pathZ, int flags)
        {
            fixed (byte* p = pathZ)
            {
                int fd;
                do
                    fd = OpenAtRaw(directory, p, flags, 0);
                while (Errno.Interrupted(ref fd));
                return fd;
            }
        }
    }
}
