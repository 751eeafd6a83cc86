using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "pipe2", SetLastError = true)]
        private static unsafe partial int Pipe2Raw(int* descriptors, int flags);

        /// <summary>pipe2(2) with O_CLOEXEC: 0 with both ends, or -errno.</summary>
        internal static unsafe int Pipe2(out int readEnd, out int writeEnd)
        {
            int* ends = stackalloc int[2];
            int result = Pipe2Raw(ends, Abi.O_CLOEXEC) == 0 ? 0 : -Errno.Last;
            readEnd = ends[0];
            writeEnd = ends[1];
            return result;
        }
    }
}
