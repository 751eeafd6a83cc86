using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "ftruncate64", SetLastError = true)]
        private static partial int FTruncateRaw(int fd, long length);

        /// <summary>ftruncate(2), retried on EINTR; 0 or -errno.</summary>
        internal static int FTruncate(int fd, long length)
        {
            nint result;
            do
                result = FTruncateRaw(fd, length);
            while (Errno.Interrupted(ref result));
            return (int)result;
        }
    }
}
