using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "statx", SetLastError = true)]
        private static unsafe partial int StatxRaw(int dirfd, byte* path, int flags, uint mask, byte* buffer);

        /// <summary>The file type bits (S_IFMT) of an open descriptor, from statx(2) (its layout is the same on every architecture); or -errno.</summary>
        internal static unsafe int FileType(int fd)
        {
            byte* buffer = stackalloc byte[256];
            byte empty = 0;
            if (StatxRaw(fd, &empty, Abi.AT_EMPTY_PATH, (uint)Abi.STATX_TYPE, buffer) != 0)
                return -Errno.Last;
            return *(ushort*)(buffer + Abi.StatxModeOffset) & Abi.S_IFMT;
        }
    }
}
