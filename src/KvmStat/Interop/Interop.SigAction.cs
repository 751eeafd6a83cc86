using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "sigaction", SetLastError = true)]
        private static unsafe partial int SigActionRaw(int signal, byte* action, byte* old);

        /// <summary>Whether <paramref name="signal"/> is ignored (SIG_IGN), as a process started by nohup inherits SIGHUP.</summary>
        internal static unsafe bool IsIgnored(int signal)
        {
            byte* old = stackalloc byte[Abi.SigActionSize];
            return SigActionRaw(signal, null, old) == 0 && *(nint*)(old + Abi.SigActionHandlerOffset) == (nint)Abi.SigIgnored;
        }

        /// <summary>sigaction(2) to SIG_DFL (all zeros: no flags, an empty mask): 0 or -errno.</summary>
        internal static unsafe int SetDefault(int signal)
        {
            byte* action = stackalloc byte[Abi.SigActionSize];
            new Span<byte>(action, Abi.SigActionSize).Clear();
            return SigActionRaw(signal, action, null) == 0 ? 0 : -Errno.Last;
        }
    }
}
