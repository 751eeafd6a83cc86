using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true)]
        private static unsafe partial int OpenRaw(byte* path, int flags, int mode);

        /// <summary>open(2) on a NUL-terminated UTF-8 path; returns the descriptor or -errno.</summary>
        internal static unsafe int Open(ReadOnlySpan<byte> pathZ, int flags, int mode = 0)
        {
            fixed (byte* p = pathZ)
            {
                int fd;
                do
                    fd = OpenRaw(p, flags, mode);
                while (Errno.Interrupted(ref fd));
                return fd;
            }
        }
    }
}
