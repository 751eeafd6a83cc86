using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        private static partial int CloseRaw(int fd);

        /// <summary>close(2); 0 or -errno. The descriptor is gone either way (Linux never retries a close).</summary>
        internal static int Close(int fd) => CloseRaw(fd) == 0 ? 0 : -Errno.Last;
    }
}
