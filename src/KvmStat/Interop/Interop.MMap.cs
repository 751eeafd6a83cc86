using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "mmap", SetLastError = true)]
        private static partial nint MmapRaw(nint address, nuint length, int protection, int flags, int fd, long offset);

        /// <summary>mmap(2) of a whole descriptor from offset 0, shared: the address, or -errno.</summary>
        internal static nint MapShared(int fd, nuint length, bool writable)
        {
            int protection = Abi.PROT_READ | (writable ? Abi.PROT_WRITE : 0);
            nint address = MmapRaw(0, length, protection, Abi.MAP_SHARED, fd, 0);
            return address == -1 ? -Errno.Last : address;
        }
    }
}
