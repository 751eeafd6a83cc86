using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int RLIMIT_NOFILE = 7;

        [StructLayout(LayoutKind.Sequential)]
        internal struct RLimit
        {
            internal ulong Current;
            internal ulong Maximum;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
        internal static partial int GetRLimit(int resource, out RLimit limit);

        [LibraryImport(Libraries.Libc, EntryPoint = "setrlimit", SetLastError = true)]
        internal static partial int SetRLimit(int resource, in RLimit limit);
    }
}
