using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // ioctl is variadic in C; a fixed third argument is passed the same way on x86-64 and arm64.
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int Ioctl(int fd, nuint request, nint argument);
    }

    internal static class PerfIoctl
    {
        private static bool IsPowerPc => RuntimeInformation.ProcessArchitecture is Architecture.Ppc64le;

        // _IO('$', n): the direction bits differ on powerpc.
        internal static nuint Enable => IsPowerPc ? 0x20002400u : 0x2400u;
        internal static nuint Disable => IsPowerPc ? 0x20002401u : 0x2401u;
        internal static nuint Reset => IsPowerPc ? 0x20002403u : 0x2403u;

        // _IOW('$', 6, char *)
        internal static nuint SetFilter => IsPowerPc ? (nuint)(0x80002406u | (8u << 16)) : (nuint)0x40082406u;

        internal const nint FlagGroup = 1;
    }
}
