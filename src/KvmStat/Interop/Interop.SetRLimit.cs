using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "setrlimit", SetLastError = true)]
        private static partial int SetRLimitRaw(int resource, in RLimit limit);

        /// <summary>setrlimit(2): 0 or -errno.</summary>
        internal static int SetRLimit(int resource, in RLimit limit) => SetRLimitRaw(resource, limit) == 0 ? 0 : -Errno.Last;
    }
}
