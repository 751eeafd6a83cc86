using System.Runtime.InteropServices;

namespace KvmStat.Tests.Infrastructure;

/// <summary>Waits for any process (not only a child) to end, through a pidfd: no polling.</summary>
internal static partial class ProcessExit
{
    private const long PidfdOpen = 434;
    private const short PollIn = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        internal int Fd;
        internal short Events;
        internal short Revents;
    }

    [LibraryImport("libc.so.6", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int pid, uint flags);

    [LibraryImport("libc.so.6", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>True once <paramref name="pid"/> has ended (or was gone already); false after <paramref name="timeout"/>.</summary>
    internal static unsafe bool WaitFor(int pid, TimeSpan timeout)
    {
        int fd = (int)Syscall(PidfdOpen, pid, 0);
        if (fd < 0)
            return Marshal.GetLastPInvokeError() == 3; // ESRCH: no such process any more
        try
        {
            var poll = new PollFd { Fd = fd, Events = PollIn };
            int ready;
            do
                ready = Poll(&poll, 1, (int)timeout.TotalMilliseconds);
            while (ready < 0 && Marshal.GetLastPInvokeError() == 4); // EINTR
            return ready > 0;
        }
        finally
        {
            _ = Close(fd);
        }
    }
}
