using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>
/// Lists the processes that run KVM VMs: from the debugfs folder names (PID-FD), one directory
/// read, which lockdown does not hide; without debugfs, from /proc (a process that holds an
/// anon_inode:kvm-vm descriptor), at most every few seconds and within a budget of descriptors
/// each time, since any user may hold a million of them: the VMs found before are looked at again
/// first (one descriptor each), then the other processes in turn, from where the last scan stopped.
/// </summary>
/// <param name="warn">Where it is said, once, that the processes hold more descriptors than one scan looks at.</param>
internal sealed class VmDiscovery(HostPaths paths, TimeProvider time, Action<string> warn)
{
    /// <summary>Descriptors (and processes) one /proc scan looks at, at most (0.25-0.5 s of system calls on a 2-CPU test machine).</summary>
    internal const int ScanBudget = 65536;

    private static readonly Func<ReadOnlySpan<byte>, long> s_parseFolder = Guests.VmFolderName.Parse;
    private static readonly TimeSpan s_procScanInterval = TimeSpan.FromSeconds(3);

    private readonly DirectoryScanner _debugfs = new(paths.DebugfsKvm);
    private readonly DirectoryScanner _proc = new(paths.Proc);
    private readonly List<long> _keys = new(16);
    private readonly VmDescriptorProbe _probe = new(paths);
    // The VM processes found through /proc, with the number of the VM descriptor each holds.
    private readonly SortedDictionary<int, int> _fromProc = [];
    private readonly List<int> _gone = [];
    // The processes of the current round through /proc, and the next one to look at.
    private readonly List<long> _round = [];
    private int _next;
    private bool _warned;
    private DateTimeOffset _procScannedAt = DateTimeOffset.MinValue;
    // The debugfs folders (as keys) whose descriptor was looked at, and when the looks began.
    private readonly Dictionary<long, bool> _verified = [];
    private DateTimeOffset _verifiedAt = DateTimeOffset.MinValue;

    /// <summary>Fills <paramref name="pids"/> with the VM processes, sorted, without duplicates.</summary>
    internal void List(List<int> pids)
    {
        pids.Clear();
        if (_debugfs.TryScan(_keys, s_parseFolder) == 0)
        {
            // A folder names the pid that made a VM, which may have handed it on and exited, the
            // pid then anyone's: its descriptor must still be a VM's (one look a folder, again
            // every few seconds; where links cannot be read, the folder is taken at its word).
            if (time.GetUtcNow() - _verifiedAt > s_procScanInterval)
            {
                _verified.Clear();
                _verifiedAt = time.GetUtcNow();
            }
            foreach (long key in _keys)
            {
                int pid = (int)(key >> 32);
                if (!_verified.TryGetValue(key, out bool holds))
                    _verified[key] = holds = _probe.HoldsAt(pid, (int)(key & 0xffffffff)) != false;
                if (holds && (pids.Count == 0 || pids[^1] != pid))
                    pids.Add(pid);
            }
            return;
        }
        if (time.GetUtcNow() - _procScannedAt > s_procScanInterval)
            ScanProc(ScanBudget);
        pids.AddRange(_fromProc.Keys);
    }

    /// <summary>One scan of /proc within <paramref name="budget"/> descriptors (a parameter for tests).</summary>
    internal void ScanProc(int budget)
    {
        _procScannedAt = time.GetUtcNow();
        long start = _probe.Examined;
        _gone.Clear();
        foreach ((int pid, int fd) in _fromProc)
        {
            if (!_probe.StillHolds(pid, fd))
                _gone.Add(pid);
        }
        foreach (int pid in _gone)
        {
            // Exited, or moved its VM to another descriptor: looked at again in full.
            _fromProc.Remove(pid);
            if (_probe.Holds(pid, out int fd) == true)
                _fromProc[pid] = fd;
        }
        if (_next >= _round.Count)
        {
            // A new round: every process there is now.
            _next = 0;
            if (_proc.TryScan(_round, DirectoryScanner.ParsePositive) != 0)
                _round.Clear();
        }
        while (_next < _round.Count && _probe.Examined - start < budget)
        {
            int pid = (int)_round[_next++];
            if (!_fromProc.ContainsKey(pid) && _probe.Holds(pid, out int fd) == true)
                _fromProc[pid] = fd;
        }
        if (_next < _round.Count && !_warned)
        {
            _warned = true;
            warn($"finding VMs through /proc: the processes hold more descriptors than one scan looks at ({budget}), so a new VM may be found " +
                 $"only after several scans of 3 s. {AtOnce(paths)}");
        }
    }

    /// <summary>
    /// What would find VMs at once, where /proc is too slow: debugfs, said as mounting it where it
    /// is not mounted; where it is, its kvm folder is missing because KVM is (no process runs a VM).
    /// </summary>
    /// <param name="unreadable">Taken as a user who may not list debugfs's folder (tests run as root).</param>
    internal static string AtOnce(HostPaths paths, bool unreadable = false)
    {
        // Where no VM can run, that is the answer, whoever asks.
        KvmAvailability kvm = KvmAvailability.Probe(paths);
        if (!kvm.Usable)
            return $"No process runs a VM here: {kvm.Describe()}.";
        // Mounted, debugfs is root's: for another user, who cannot list it, the mount table tells.
        bool? mounted = unreadable ? null : DebugfsMount.Listed(paths);
        if (mounted is null && DebugfsMount.InMountTable(paths))
            return "debugfs, which would find them at once, is readable by root only: run as root, or give CAP_DAC_READ_SEARCH.";
        if (mounted != true)
            return "Mount debugfs (mount -t debugfs none /sys/kernel/debug) to find VMs at once.";
        return $"debugfs, which would find them at once, has no {paths.DebugfsKvm} although /dev/kvm is present.";
    }
}
