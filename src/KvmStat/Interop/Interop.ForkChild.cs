using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>
    /// The calls a forked child makes. They skip the GC transition (see <see cref="Libc.Fork"/>);
    /// blocking in one is harmless because the child has no other managed thread to hold up.
    /// </summary>
    internal static partial class ForkChild
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "close")]
        [SuppressGCTransition]
        internal static partial int Close(int fd);

        [LibraryImport(Libraries.Libc, EntryPoint = "read")]
        [SuppressGCTransition]
        internal static unsafe partial nint Read(int fd, byte* buffer, nuint count);
    }
}
