using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "madvise", SetLastError = true)]
        private static partial int MadviseRaw(nint address, nuint length, int advice);

        /// <summary>madvise(2): 0 or -errno.</summary>
        internal static int Madvise(nint address, nuint length, int advice) => MadviseRaw(address, length, advice) == 0 ? 0 : -Errno.Last;
    }
}
