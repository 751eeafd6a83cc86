using System.Buffers.Text;

namespace KvmStat.Guests;

/// <summary>
/// A process's /proc/PID/stat, read without allocating (followed VMs are checked at every refresh):
/// whether it runs, and when it started. A pid is reused; a pid with its start time names one
/// process for good.
/// </summary>
internal static class ProcessStat
{
    /// <summary>
    /// True while the process of <paramref name="statPathZ"/> (a NUL-terminated /proc/PID/stat)
    /// exists and is not a zombie, with its start time in clock ticks after boot (field 22; 0 where
    /// it cannot be read).
    /// </summary>
    internal static bool TryRead(byte[] statPathZ, out long start)
    {
        start = 0;
        int fd = Interop.Libc.Open(statPathZ, Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC);
        if (fd < 0)
            return false;
        // The fields up to the start time fit: a command name of at most 64 bytes, the state, and 18 numbers of
        // at most 20 digits each before it.
        Span<byte> buffer = stackalloc byte[1024];
        nint n = Interop.Libc.ReadRetrying(fd, buffer);
        // A close of a descriptor only read from cannot lose anything.
        _ = Interop.Libc.Close(fd);
        return n > 0 && TryParse(buffer[..(int)n], out start);
    }

    /// <summary>"pid (comm) S ... start ...": running (not Z or X), and field 22.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> stat, out long start)
    {
        start = 0;
        // The state follows the last ')' (the command name may hold anything).
        int close = stat.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= stat.Length || stat[close + 2] is (byte)'Z' or (byte)'X')
            return false;
        ReadOnlySpan<byte> rest = stat[(close + 2)..];
        // Field 22 is the 20th after the ')'.
        for (int field = 3; field < 22; field++)
        {
            int space = rest.IndexOf((byte)' ');
            if (space < 0)
                return true;
            rest = rest[(space + 1)..];
        }
        if (Utf8Parser.TryParse(rest, out long value, out _) && value >= 0)
            start = value;
        return true;
    }
}
