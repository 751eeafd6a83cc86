namespace KvmStat.Host;

/// <summary>
/// Every path the tool reads from the host, under one root. The root is "/" in real use;
/// tests point it at fixture trees (fake tracefs, debugfs and /proc).
/// </summary>
internal sealed class HostPaths
{
    /// <summary>Environment variable that moves the root, so the published binary can run on a fixture tree.</summary>
    internal const string RootVariable = "KVM_STAT_ROOT";

    internal HostPaths(string root = "/")
    {
        Root = root;
    }

    /// <summary>
    /// The root of KVM_STAT_ROOT, except when the kernel started this process in secure mode
    /// (set-user-ID, or capabilities from the file: the environment is then that of a user with
    /// fewer privileges, who must not choose what the tool reads or how it reports it).
    /// </summary>
    internal static HostPaths FromEnvironment() => FromEnvironment(Interop.Libc.IsSecureExecution);

    internal static HostPaths FromEnvironment(bool secureExecution)
    {
        string? root = secureExecution ? null : Environment.GetEnvironmentVariable(RootVariable);
        return new HostPaths(string.IsNullOrEmpty(root) ? "/" : root);
    }

    internal string Root { get; }

    internal bool IsRealHost => Root == "/";

    /// <summary>Maps an absolute host path (as the kernel documents it) into the root.</summary>
    internal string Map(string absolutePath) =>
        IsRealHost ? absolutePath : Path.Join(Root, absolutePath);

    internal string Proc => Map("/proc");
    internal string TracingPrimary => Map("/sys/kernel/tracing");
    internal string TracingLegacy => Map("/sys/kernel/debug/tracing");
    internal string Debugfs => Map("/sys/kernel/debug");
    internal string DebugfsKvm => Map("/sys/kernel/debug/kvm");
    internal string CpuOnline => Map("/sys/devices/system/cpu/online");
    internal string CpuInfo => Map("/proc/cpuinfo");
    internal string SysModule => Map("/sys/module");
    internal string DevKvm => Map("/dev/kvm");
    internal string KernelLog => Map("/dev/kmsg");
    internal string Lockdown => Map("/sys/kernel/security/lockdown");
    internal string PerfEventParanoid => Map("/proc/sys/kernel/perf_event_paranoid");
    internal string UnixSockets => Map("/proc/net/unix");

    internal string ProcessDir(int pid) => Path.Join(Proc, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
