using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources;

/// <summary>
/// Every counter is a file descriptor (CPUs or threads × fields), far beyond the usual soft limit
/// of 1024. A NativeAOT binary keeps the soft RLIMIT_NOFILE it was started with, so it is raised here.
/// </summary>
internal static class FileLimit
{
    // Standard streams, the runtime's own, tracefs and /proc reads, a log file, sockets.
    internal const ulong Spare = 32;

    /// <summary>
    /// The fix where counters run out of open files: the soft limit is already raised to the hard
    /// one (<see cref="EnsureRoom"/>), so only the hard limit (or fewer fields) helps; ENFILE is the
    /// whole system's table.
    /// </summary>
    internal static string FixFor(int errno) => errno == Interop.Errno.ENFILE
        ? "The system's table of open files is full: raise fs.file-max (sysctl), or select fewer fields with -f."
        : "Raise the hard open-file limit (ulimit -Hn, or LimitNOFILE= in a systemd unit), or select fewer fields with -f.";

    /// <summary>Makes room for <paramref name="descriptors"/> open files of counters in all, or explains why it cannot.</summary>
    internal static void EnsureRoom(int descriptors, string purpose)
    {
        ulong needed = (ulong)descriptors + Spare;
        if (Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit limit) != 0)
            return;
        if (limit.Current >= needed)
            return;

        var raised = new Interop.Libc.RLimit
        {
            // Take the whole hard limit at once, so growing thread sets do not raise it again and again.
            Current = Math.Max(needed, limit.Maximum),
            Maximum = Math.Max(needed, limit.Maximum),
        };
        if (Interop.Libc.SetRLimit(Interop.Abi.RLIMIT_NOFILE, raised) == 0)
            return;

        // Raising the hard limit needs CAP_SYS_RESOURCE; the soft limit can still go up to it.
        if (limit.Maximum >= needed)
        {
            raised = new Interop.Libc.RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (Interop.Libc.SetRLimit(Interop.Abi.RLIMIT_NOFILE, raised) == 0)
                return;
        }
        // Root without CAP_SYS_RESOURCE (a unit's CapabilityBoundingSet) is root already.
        string asRoot = Interop.Libc.GetEUid() == 0 ? "" : ", run as root";
        throw new EnvironmentException(
            $"{purpose} needs {needed} open files, but the open-file limit (RLIMIT_NOFILE) is {limit.Maximum} and cannot be raised.",
            $"Raise it (ulimit -Hn {needed}, or LimitNOFILE= in a systemd unit){asRoot}, or select fewer fields with -f.");
    }
}
