using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "tcgetattr", SetLastError = true)]
        internal static partial int TcGetAttr(int fd, out Termios termios);
    }
}
