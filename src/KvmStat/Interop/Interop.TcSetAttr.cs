using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "tcsetattr", SetLastError = true)]
        private static partial int TcSetAttrRaw(int fd, int when, in Termios termios);

        /// <summary>tcsetattr(3): 0 or -errno.</summary>
        internal static int TcSetAttr(int fd, int when, in Termios termios) => TcSetAttrRaw(fd, when, termios) == 0 ? 0 : -Errno.Last;
    }
}
