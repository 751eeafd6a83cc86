using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "pread64", SetLastError = true)]
        private static unsafe partial nint PRead(int fd, byte* buffer, nuint count, long offset);

        /// <summary>pread(2) that retries on EINTR; returns bytes read or -errno.</summary>
        internal static unsafe nint PReadRetrying(int fd, Span<byte> buffer, long offset)
        {
            fixed (byte* p = buffer)
            {
                nint n;
                do
                    n = PRead(fd, p, (nuint)buffer.Length, offset);
                while (Errno.Interrupted(ref n));
                return n;
            }
        }
    }
}
