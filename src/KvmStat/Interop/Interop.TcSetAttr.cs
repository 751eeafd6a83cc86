using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "tcsetattr", SetLastError = true)]
        internal static partial int TcSetAttr(int fd, int when, in Termios termios);
    }
}
