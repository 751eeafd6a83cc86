using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>
    /// The one call a forked child makes: syscall(2) itself, with the numbers read before the fork
    /// (a forked child reads no statics). No GC transition: the child has no other thread to wait
    /// for, and blocking in it holds up nobody.
    /// </summary>
    internal static partial class ForkChild
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall")]
        [SuppressGCTransition]
        internal static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5);
    }
}
