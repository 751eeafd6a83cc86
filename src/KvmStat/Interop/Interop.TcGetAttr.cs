using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "tcgetattr", SetLastError = true)]
        private static partial int TcGetAttrRaw(int fd, out Termios termios);

        /// <summary>tcgetattr(3): 0 or -errno (ENOTTY when the descriptor is no terminal).</summary>
        internal static int TcGetAttr(int fd, out Termios termios) => TcGetAttrRaw(fd, out termios) == 0 ? 0 : -Errno.Last;
    }
}
