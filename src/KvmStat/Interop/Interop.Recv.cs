using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "recv", SetLastError = true)]
        private static unsafe partial nint RecvRaw(int fd, byte* buffer, nuint length, int flags);

        /// <summary>recv(2) of one datagram, made again while a signal interrupts it: the bytes received or -errno.</summary>
        internal static unsafe nint Recv(int fd, Span<byte> buffer)
        {
            fixed (byte* p = buffer)
            {
                nint n;
                do
                    n = RecvRaw(fd, p, (nuint)buffer.Length, 0);
                while (Errno.Interrupted(ref n));
                return n;
            }
        }
    }
}
