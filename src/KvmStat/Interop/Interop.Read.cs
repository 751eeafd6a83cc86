using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
        internal static unsafe partial nint Read(int fd, byte* buffer, nuint count);

        /// <summary>read(2) that retries on EINTR; returns bytes read or -errno.</summary>
        internal static unsafe nint ReadRetrying(int fd, Span<byte> buffer)
        {
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    nint n = Read(fd, p, (nuint)buffer.Length);
                    if (n >= 0)
                        return n;
                    int errno = Errno.Last;
                    if (errno != Errno.EINTR)
                        return -errno;
                }
            }
        }
    }
}
