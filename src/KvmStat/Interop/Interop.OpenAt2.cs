using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>struct open_how of openat2(2).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct OpenHow
        {
            internal ulong Flags;
            internal ulong Mode;
            internal ulong Resolve;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static unsafe partial long SyscallOpenAt2(long number, int directory, byte* path, OpenHow* how, nuint size);

        /// <summary>
        /// openat2(2) (Linux 5.6) on a NUL-terminated path from the working folder, with the
        /// RESOLVE_* flags <paramref name="resolve"/>; the descriptor or -errno (-ENOSYS before 5.6).
        /// </summary>
        internal static unsafe int OpenAt2(ReadOnlySpan<byte> pathZ, int flags, int mode, ulong resolve)
        {
            var how = new OpenHow { Flags = (ulong)(uint)flags, Mode = (ulong)(uint)mode, Resolve = resolve };
            fixed (byte* p = pathZ)
            {
                long fd;
                do
                    fd = SyscallOpenAt2(Abi.SYS_openat2, Abi.AT_FDCWD, p, &how, (nuint)sizeof(OpenHow));
                while (Errno.Interrupted(ref fd));
                return (int)fd;
            }
        }
    }
}
