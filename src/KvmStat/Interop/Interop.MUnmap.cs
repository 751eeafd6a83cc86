using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "munmap", SetLastError = true)]
        private static partial int MunmapRaw(nint address, nuint length);

        /// <summary>munmap(2): 0 or -errno.</summary>
        internal static int Unmap(nint address, nuint length) => MunmapRaw(address, length) == 0 ? 0 : -Errno.Last;
    }
}
