using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "send", SetLastError = true)]
        private static unsafe partial nint SendRaw(int fd, byte* buffer, nuint length, int flags);

        /// <summary>send(2) of one datagram, made again while a signal interrupts it: the bytes sent or -errno.</summary>
        internal static unsafe nint Send(int fd, ReadOnlySpan<byte> datagram)
        {
            fixed (byte* p = datagram)
            {
                nint n;
                do
                    n = SendRaw(fd, p, (nuint)datagram.Length, 0);
                while (Errno.Interrupted(ref n));
                return n;
            }
        }
    }
}
