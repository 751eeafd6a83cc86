using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
        private static unsafe partial nint Read(int fd, byte* buffer, nuint count);

        /// <summary>read(2) that retries on EINTR; returns bytes read or -errno.</summary>
        internal static unsafe nint ReadRetrying(int fd, Span<byte> buffer) => FillRetrying(&Read, fd, buffer);

        /// <summary>
        /// A call that fills a buffer from a descriptor, as read(2) and getdents64(2) do, made again
        /// while a signal interrupts it: bytes filled (0 at the end) or -errno.
        /// </summary>
        private static unsafe nint FillRetrying(delegate*<int, byte*, nuint, nint> call, int fd, Span<byte> buffer)
        {
            fixed (byte* p = buffer)
            {
                nint n;
                do
                    n = call(fd, p, (nuint)buffer.Length);
                while (Errno.Interrupted(ref n));
                return n;
            }
        }
    }
}
