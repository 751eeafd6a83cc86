using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }: offsets in Abi.
        [LibraryImport(Libraries.Libc, EntryPoint = "getdents64", SetLastError = true)]
        private static unsafe partial nint GetDents64Raw(int fd, byte* buffer, nuint count);

        /// <summary>getdents64(2) retrying on EINTR; bytes filled, 0 at the end, or -errno.</summary>
        internal static unsafe nint GetDents64(int fd, Span<byte> buffer) => FillRetrying(&GetDents64Raw, fd, buffer);
    }
}
