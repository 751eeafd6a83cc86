using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "getauxval")]
        private static partial nuint GetAuxValRaw(nuint type);

        /// <summary>
        /// Whether the kernel started this process in secure mode (AT_SECURE): set-user-ID, or
        /// capabilities gained from the file. The environment is then another user's, not to be trusted.
        /// </summary>
        internal static bool IsSecureExecution => GetAuxValRaw((nuint)Abi.AT_SECURE) != 0;
    }
}
