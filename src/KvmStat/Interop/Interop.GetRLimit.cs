using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>struct rlimit (16 bytes), of getrlimit(2) and setrlimit(2).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct RLimit
        {
            internal ulong Current;
            internal ulong Maximum;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
        private static partial int GetRLimitRaw(int resource, out RLimit limit);

        /// <summary>getrlimit(2): 0 or -errno.</summary>
        internal static int GetRLimit(int resource, out RLimit limit) => GetRLimitRaw(resource, out limit) == 0 ? 0 : -Errno.Last;
    }
}
