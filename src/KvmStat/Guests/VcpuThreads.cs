using System.Globalization;
using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>
/// Which vCPU each thread of a VM runs, from /proc: by the name its VMM gives it (QEMU "CPU N/KVM",
/// with -name ...,debug-threads=on as libvirt starts it, N its CPU index, what its monitor calls
/// CPU #N; Firecracker "fc_vcpu N", Cloud Hypervisor "vcpuN", kvmtool "kvm-vcpu-N"); else while
/// it waits in ioctl(KVM_RUN) (/proc/PID/task/TID/syscall) on a descriptor of vCPU N
/// (anon_inode:kvm-vcpu:N, KVM's vCPU id). Any other thread is named by its id. A thread that
/// exits while it is read is one whose vCPU is not known.
/// </summary>
internal sealed class VcpuThreads(HostPaths paths)
{
    private const string VcpuLink = "anon_inode:kvm-vcpu:";

    /// <summary>How VMMs name their vCPU threads: a prefix, the vCPU's number, a suffix.</summary>
    private static readonly (string Prefix, string Suffix)[] s_names = [("CPU ", "/KVM"), ("fc_vcpu ", ""), ("vcpu", ""), ("kvm-vcpu-", "")];

    /// <summary>The vCPU of a thread of process <paramref name="pid"/> (-1 where not known).</summary>
    internal VcpuThread Identify(int pid, int tid)
    {
        string task = Path.Join(paths.ProcessDir(pid), "task", tid.ToString(CultureInfo.InvariantCulture));
        int index = IndexFromName(SysFile.TryReadText(Path.Join(task, "comm"), out _, maxBytes: 64));
        if (index < 0 && DescriptorInKvmRun(SysFile.TryReadText(Path.Join(task, "syscall"), out _, maxBytes: 256)) is int fd)
            index = IndexFromLink(LinkOf(Path.Join(paths.ProcessDir(pid), "fd", fd.ToString(CultureInfo.InvariantCulture))));
        return new VcpuThread(tid, index);
    }

    /// <summary>The threads of process <paramref name="pid"/> whose vCPU is known, by vCPU; none when it is gone or its threads cannot be listed (the caller says so).</summary>
    internal List<VcpuThread> List(int pid)
    {
        var vcpus = new List<VcpuThread>();
        IEnumerable<string> tasks;
        try
        {
            tasks = [.. Directory.EnumerateDirectories(Path.Join(paths.ProcessDir(pid), "task"))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone, or not to be listed: no vCPU known, which the caller says.
            return vcpus;
        }
        foreach (string task in tasks)
        {
            if (int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out int tid) &&
                Identify(pid, tid) is { Index: >= 0 } vcpu)
                vcpus.Add(vcpu);
        }
        vcpus.Sort((a, b) => a.Index != b.Index ? a.Index.CompareTo(b.Index) : a.Tid.CompareTo(b.Tid));
        return vcpus;
    }

    /// <summary>The labels of these vCPUs (vcpu0, vcpu1...), each once, in their order.</summary>
    internal static string[] Labels(IEnumerable<VcpuThread> vcpus) => [.. vcpus.Select(v => v.Label).Distinct(StringComparer.Ordinal)];

    /// <summary>N of a VMM's vCPU thread name ("CPU N/KVM", "fc_vcpu N", "vcpuN", "kvm-vcpu-N"; a comm file's text), else -1.</summary>
    internal static int IndexFromName(string? comm)
    {
        ReadOnlySpan<char> name = comm.AsSpan().TrimEnd('\n');
        foreach ((string prefix, string suffix) in s_names)
        {
            if (name.Length > prefix.Length + suffix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(suffix, StringComparison.Ordinal) &&
                int.TryParse(name[prefix.Length..^suffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                return index;
        }
        return -1;
    }

    /// <summary>
    /// The descriptor of a thread waiting in ioctl(FD, KVM_RUN), from its syscall file ("NR ARG1
    /// ARG2 ...", the arguments in hex; "running" or "-1 ..." outside a system call), else null.
    /// </summary>
    internal static int? DescriptorInKvmRun(string? syscall)
    {
        string[] parts = (syscall ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length < 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long number) || number != Interop.Abi.SYS_ioctl)
            return null;
        return Hex(parts[2]) == Interop.Abi.KVM_RUN && Hex(parts[1]) is ulong fd and <= int.MaxValue ? (int)fd : null;
    }

    private static ulong? Hex(string text) =>
        text.StartsWith("0x", StringComparison.Ordinal) && ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            ? value : null;

    /// <summary>N of a vCPU descriptor's link "anon_inode:kvm-vcpu:N", else -1.</summary>
    internal static int IndexFromLink(string? link) =>
        link is not null && link.StartsWith(VcpuLink, StringComparison.Ordinal) &&
        int.TryParse(link.AsSpan(VcpuLink.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? index : -1;

    /// <summary>Where a descriptor's link points; null where it cannot be read (the thread or descriptor closed meanwhile, or a process not ours to look at): no vCPU is known from it, which its caller tries other ways to learn.</summary>
    private static string? LinkOf(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
