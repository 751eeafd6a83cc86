using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        private static partial int SocketRaw(int domain, int type, int protocol);

        /// <summary>socket(2): the descriptor or -errno.</summary>
        internal static int Socket(int domain, int type, int protocol)
        {
            int fd = SocketRaw(domain, type, protocol);
            return fd >= 0 ? fd : -Errno.Last;
        }
    }
}
