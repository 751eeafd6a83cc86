using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>_exit(2): ends the process at once, without runtime shutdown or atexit handlers.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "_exit")]
        [SuppressGCTransition]
        internal static partial void ExitImmediately(int status);
    }
}
