using System.Globalization;

namespace KvmStat.Host;

/// <summary>
/// The capabilities each source needs when the tool does not run as root, found by running it as an
/// unprivileged user with only these (setpriv --ambient-caps): what the doctor checks and the
/// systemd units grant. CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON on older kernels.
/// </summary>
internal static class Capabilities
{
    internal const int DacOverride = 1;
    internal const int DacReadSearch = 2;
    internal const int SysPtrace = 19;
    internal const int SysAdmin = 21;
    internal const int Perfmon = 38;
    internal const int Bpf = 39;

    /// <summary>
    /// Each source, and what it needs (why, in a few words). "VMs from /proc": telling a VM from
    /// another process while it runs (without it, from what the process made its vCPUs do).
    /// </summary>
    internal static readonly (string Source, (int Capability, string Why)[] Needs)[] BySource =
    [
        ("tracepoints (BPF)", [(Bpf, "BPF programs and maps"), (Perfmon, "tracing programs"), (DacReadSearch, "tracefs is readable by root only")]),
        ("tracepoints (perf)", [(Perfmon, "perf counters on every CPU and VM thread"), (DacReadSearch, "tracefs is readable by root only")]),
        ("VMs from /proc", [(DacReadSearch, "debugfs and /proc/PID/fd of other users"), (SysPtrace, "the descriptors of other users' processes")]),
        ("debugfs (-d)", [(DacReadSearch, "debugfs is readable by root only")]),
        ("--binary-stats", [(SysPtrace, "pidfd_getfd of a VMM's descriptors"), (DacReadSearch, "/proc/PID/fd of other users")]),
        ("--qmp auto", [(SysPtrace, "which sockets QEMU holds"), (DacReadSearch, "/proc/PID/fd of other users"), (DacOverride, "connecting to another user's socket")]),
    ];

    internal static string Name(int capability) => capability switch
    {
        DacOverride => "CAP_DAC_OVERRIDE",
        DacReadSearch => "CAP_DAC_READ_SEARCH",
        SysPtrace => "CAP_SYS_PTRACE",
        SysAdmin => "CAP_SYS_ADMIN",
        Perfmon => "CAP_PERFMON",
        Bpf => "CAP_BPF",
        _ => $"capability {capability}",
    };

    /// <summary>The effective capabilities of this process (CapEff in /proc/self/status), or null when unknown.</summary>
    internal static ulong? Effective(string statusText)
    {
        foreach (string line in statusText.Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong mask))
                return mask;
        }
        return null;
    }

    internal static bool Has(ulong effective, int capability) =>
        (effective & (1UL << capability)) != 0
        || (capability is Bpf or Perfmon && (effective & (1UL << SysAdmin)) != 0);
}
