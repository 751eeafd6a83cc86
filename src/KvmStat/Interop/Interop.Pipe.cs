using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "pipe2", SetLastError = true)]
        internal static unsafe partial int Pipe2(int* descriptors, int flags);
    }
}
