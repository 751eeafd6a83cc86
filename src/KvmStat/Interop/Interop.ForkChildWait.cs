using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class ForkChild
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct PollFd
        {
            internal int Fd;
            internal short Events;
            internal short Revents;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "poll")]
        [SuppressGCTransition]
        private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

        [LibraryImport(Libraries.Libc, EntryPoint = "getppid")]
        [SuppressGCTransition]
        internal static partial int GetParentPid();

        /// <summary>Waits up to <paramref name="milliseconds"/> for <paramref name="fd"/> to be readable (or closed); <paramref name="pollIn"/> is Abi.POLLIN, read before the fork.</summary>
        internal static unsafe bool WaitReadable(int fd, int milliseconds, short pollIn)
        {
            var poll = new PollFd { Fd = fd, Events = pollIn };
            return Poll(&poll, 1, milliseconds) > 0;
        }
    }
}
