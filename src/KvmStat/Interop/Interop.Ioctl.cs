using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // ioctl is variadic in C; a fixed third argument is passed the same way on x86-64 and arm64.
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        private static partial int IoctlRaw(int fd, nuint request, nint argument);

        /// <summary>ioctl(2); its result (0 or more) or -errno.</summary>
        internal static int Ioctl(int fd, ulong request, nint argument)
        {
            int result = IoctlRaw(fd, (nuint)request, argument);
            return result >= 0 ? result : -Errno.Last;
        }
    }
}
