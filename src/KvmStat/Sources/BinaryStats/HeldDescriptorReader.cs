using KvmStat.Guests;
using KvmStat.Host;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// Reads the binary statistics descriptors a VMM keeps open (QEMU 8.1 and later keep one per
/// vCPU: /proc/PID/fd/N → anon_inode:kvm-vcpu-stats:I), copied into this process with
/// pidfd_open + pidfd_getfd. Reading them does not disturb the vCPUs. Each VM's descriptors are
/// looked for again every few seconds (vCPU hot-plug); those of a VM that exits are closed at
/// once, since a copy keeps the VM's kernel state alive.
/// <para>
/// A process may swap what a descriptor number stands for between the look at its link and the
/// copy. So the copy itself is checked (its own /proc/self/fd link) before a byte is read: a
/// FUSE file, pipe or socket offered in its place is never read, and is closed away from the
/// sampling (closing a FUSE file waits for its server); that process is not copied from again.
/// </para>
/// </summary>
internal sealed class HeldDescriptorReader : IVmStatsReader
{
    private static readonly TimeSpan s_rescanInterval = TimeSpan.FromSeconds(3);

    private readonly int _pid;
    private readonly TimeProvider _time;
    private readonly VmDiscovery _discovery;
    private readonly GuestFinder _finder;
    private readonly List<int> _pids = [];
    private readonly List<HeldVm> _vms = []; // sorted by pid
    private readonly Func<int, HeldVm?> _open;
    private readonly Action<HeldVm> _drop = vm => vm.Close();
    private readonly Func<int, string> _ownLink;
    private readonly Action<string> _warn;

    /// <param name="discovery">The run's list of VMs (one /proc scan shared by every reader).</param>
    /// <param name="ownLink">What a copy is (tests without /dev/kvm stand in for the kernel's name of a statistics descriptor).</param>
    /// <param name="warn">Where a descriptor that is left out is said (once).</param>
    internal HeldDescriptorReader(HostPaths paths, int pid, TimeProvider time, Action<string> warn, VmDiscovery discovery, Func<int, string>? ownLink = null)
    {
        _warn = warn;
        _ownLink = ownLink ?? OwnLink;
        _pid = pid;
        _time = time;
        _discovery = discovery;
        _finder = new GuestFinder(paths);
        _open = pid => _finder.StatPathZ(pid) is byte[] statZ && ProcessStat.TryRead(statZ, out long start) ? new HeldVm(pid, start, statZ) : null;
    }

    /// <summary>VM processes followed (for tests of what stays bounded).</summary>
    internal int TrackedVms => _vms.Count;

    /// <summary>Why descriptors could not be copied (EPERM without root), for the messages.</summary>
    internal int LastCopyError { get; private set; }

    public void Read(List<VmStatsBlocks> vms)
    {
        _pids.Clear();
        if (_pid > 0)
            _pids.Add(_pid);
        else
            _discovery.List(_pids);

        SortedMerge.Sync(_pids, _vms, PidOf, _open, _drop);

        vms.Clear();
        for (int i = 0; i < _vms.Count; i++)
        {
            HeldVm vm = _vms[i];
            bool running = ProcessStat.TryRead(vm.StatPathZ, out long start);
            if (!running || start != vm.Start)
            {
                // Exited, or a new process under its pid: the copies (which keep the dead VM's
                // statistics alive) go at once, and a new process is followed as a new VM.
                vm.Close();
                if (!running)
                {
                    _vms.RemoveAt(i--);
                    continue;
                }
                _vms[i] = vm = new HeldVm(vm.Blocks.Pid, start, vm.StatPathZ);
            }
            if (_time.GetUtcNow() - vm.ScannedAt > s_rescanInterval)
                Scan(vm);
            for (int f = vm.Files.Count - 1; f >= 0; f--)
            {
                if (vm.Files[f].File.Refresh() != 0)
                {
                    vm.Blocks.Blocks.Remove(vm.Files[f].File);
                    vm.Files[f].File.Dispose();
                    vm.Files.RemoveAt(f);
                }
            }
            if (vm.Files.Count > 0)
                vms.Add(vm.Blocks);
        }
    }

    public void ReportHealth(List<SourceHealth> into)
    {
        into.Add(new SourceHealth("binary-stats", "", LastCopyError == 0 ? null
            : $"the statistics descriptors VMs hold cannot be copied: {Interop.Errno.Describe(LastCopyError)} (pidfd_getfd needs CAP_SYS_PTRACE)"));
        foreach (HeldVm vm in _vms)
        {
            if (vm.Unreadable is string problem)
                into.Add(new SourceHealth("binary-stats", $"pid {vm.Blocks.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}", problem));
        }
    }

    /// <summary>Processes that offered a descriptor that was no KVM statistics descriptor (for tests).</summary>
    internal IReadOnlyCollection<int> Untrusted => [.. _vms.Where(vm => vm.Untrusted).Select(PidOf)];

    /// <summary>A link of /proc/PID/fd that is a KVM statistics descriptor: kvm-vm-stats, or kvm-vcpu-stats:N.</summary>
    internal static bool IsStatsDescriptor(string link) =>
        link == "anon_inode:kvm-vm-stats" || link.StartsWith("anon_inode:kvm-vcpu-stats", StringComparison.Ordinal);

    /// <summary>Copies the stats descriptors of a VM process that are not held yet.</summary>
    private void Scan(HeldVm vm)
    {
        vm.ScannedAt = _time.GetUtcNow();
        if (vm.Untrusted)
            return;
        List<(int Fd, string Link)>? links = _finder.DescriptorLinks(vm.Blocks.Pid);
        if (links is null)
            return;
        Interop.FileDescriptor? pidfd = null;
        try
        {
            foreach ((int target, string link) in links)
            {
                if (!IsStatsDescriptor(link) || vm.Files.Exists(f => f.TargetFd == target) || vm.UnreadableFds.Contains(target))
                    continue;
                pidfd ??= OpenPidfd(vm);
                if (pidfd is null)
                    return;
                int copy = Interop.Libc.PidfdGetfd(pidfd.Number, target);
                if (copy < 0)
                {
                    LastCopyError = -copy;
                    continue;
                }
                LastCopyError = 0;
                if (!IsStatsDescriptor(_ownLink(copy)))
                {
                    vm.Untrusted = true;
                    CloseAway(copy);
                    return;
                }
                try
                {
                    KvmStatsFile file = KvmStatsFile.Open(new Interop.FileDescriptor(copy));
                    vm.Files.Add((target, file));
                    vm.Blocks.Blocks.Add(file);
                }
                catch (KvmStatsFormatException e)
                {
                    // Not a layout this tool understands (a newer kernel): that descriptor is left out, said
                    // in the VM's health, and not copied again.
                    vm.UnreadableFds.Add(target);
                    vm.Unreadable = $"statistics descriptor {target} has a layout this tool cannot read ({e.Message}); its statistics are left out";
                    _warn($"binary statistics of pid {vm.Blocks.Pid}: {vm.Unreadable}.");
                }
            }
        }
        finally
        {
            pidfd?.Dispose();
        }
        vm.Blocks.Blocks.Sort((a, b) => a.VcpuIndex.CompareTo(b.VcpuIndex));
    }

    /// <summary>
    /// A pidfd of the VM's process; null where it cannot be had (the reason kept for the messages)
    /// or where the pid is now another process's.
    /// </summary>
    private Interop.FileDescriptor? OpenPidfd(HeldVm vm)
    {
        int opened = Interop.Libc.PidfdOpen(vm.Blocks.Pid);
        if (opened < 0)
        {
            LastCopyError = -opened;
            return null;
        }
        var pidfd = new Interop.FileDescriptor(opened);
        // The pidfd is of the process followed only if that one still runs under the pid now.
        if (ProcessStat.TryRead(vm.StatPathZ, out long start) && start == vm.Start)
            return pidfd;
        pidfd.Dispose();
        return null;
    }

    /// <summary>What a descriptor of this process is (its /proc/self/fd link: the kernel's name for it), or "" when unknown.</summary>
    private static string OwnLink(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd.ToString(System.Globalization.CultureInfo.InvariantCulture)}").LinkTarget ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Closed, or not readable: "" is no statistics descriptor, and the copy is not taken.
            return "";
        }
    }

    /// <summary>Closes a copy that is not ours to read on a pool thread: the close of a FUSE file waits for its server.</summary>
    private static void CloseAway(int fd) => ThreadPool.UnsafeQueueUserWorkItem(descriptor => Interop.Libc.Close(descriptor), fd, preferLocal: false);

    private static int PidOf(HeldVm vm) => vm.Blocks.Pid;

    public void Dispose()
    {
        foreach (HeldVm vm in _vms)
            vm.Close();
        _vms.Clear();
    }

    /// <param name="start">When the process started (<see cref="GuestFinder.StartOf"/>): which process under the pid this is.</param>
    /// <param name="statPathZ">Its /proc/PID/stat, checked at every read.</param>
    private sealed class HeldVm(int pid, long start, byte[] statPathZ)
    {
        internal VmStatsBlocks Blocks { get; } = new(pid);

        internal long Start { get; } = start;

        internal byte[] StatPathZ { get; } = statPathZ;

        /// <summary>It offered a descriptor that was no KVM statistics descriptor: not copied from again.</summary>
        internal bool Untrusted { get; set; }

        internal List<(int TargetFd, KvmStatsFile File)> Files { get; } = [];

        internal DateTimeOffset ScannedAt { get; set; } = DateTimeOffset.MinValue;

        /// <summary>The VM's descriptors whose layout could not be read, and why (the last).</summary>
        internal HashSet<int> UnreadableFds { get; } = [];

        internal string? Unreadable { get; set; }

        /// <summary>Closes the copies at once: a copy keeps the VM's kernel state alive.</summary>
        internal void Close()
        {
            foreach ((_, KvmStatsFile file) in Files)
                file.Dispose();
            Files.Clear();
        }
    }
}
