using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int O_RDONLY = 0;
        internal const int O_WRONLY = 1;
        internal const int O_RDWR = 2;
        internal const int O_CREAT = 0x40;
        internal const int O_APPEND = 0x400;
        internal const int O_NONBLOCK = 0x800;
        internal const int O_DIRECTORY = 0x10000;
        internal const int O_CLOEXEC = 0x80000;
        internal const int O_PATH = 0x200000;

        [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true)]
        private static unsafe partial int OpenRaw(byte* path, int flags, int mode);

        /// <summary>open(2) on a NUL-terminated UTF-8 path; returns the descriptor or -errno.</summary>
        internal static unsafe int Open(ReadOnlySpan<byte> pathZ, int flags, int mode = 0)
        {
            fixed (byte* p = pathZ)
            {
                while (true)
                {
                    int fd = OpenRaw(p, flags, mode);
                    if (fd >= 0)
                        return fd;
                    int errno = Errno.Last;
                    if (errno != Errno.EINTR)
                        return -errno;
                }
            }
        }
    }
}
