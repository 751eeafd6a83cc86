using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>
/// Lists the processes that run KVM VMs: from the debugfs folder names (PID-FD), one directory
/// read, which lockdown does not hide; without debugfs, from /proc (descriptors that link to
/// anon_inode:kvm-vm), which is slower and so done at most every few seconds.
/// </summary>
internal sealed class VmDiscovery(HostPaths paths, TimeProvider time)
{
    private static readonly Func<ReadOnlySpan<byte>, long> s_parseFolder = Guests.VmFolderName.Parse;
    private static readonly TimeSpan s_procScanInterval = TimeSpan.FromSeconds(3);

    private readonly DirectoryScanner _debugfs = new(paths.DebugfsKvm);
    private readonly List<long> _keys = new(16);
    private readonly GuestFinder _finder = new(paths);
    private readonly List<int> _fromProc = [];
    private DateTimeOffset _procScannedAt = DateTimeOffset.MinValue;

    /// <summary>Fills <paramref name="pids"/> with the VM processes, sorted, without duplicates.</summary>
    internal void List(List<int> pids)
    {
        pids.Clear();
        if (_debugfs.TryScan(_keys, s_parseFolder) == 0)
        {
            foreach (long key in _keys)
            {
                int pid = (int)(key >> 32);
                if (pids.Count == 0 || pids[^1] != pid)
                    pids.Add(pid);
            }
            return;
        }
        if (time.GetUtcNow() - _procScannedAt > s_procScanInterval)
        {
            _fromProc.Clear();
            foreach (GuestProcess process in _finder.ListVmProcesses())
                _fromProc.Add(process.Pid);
            _procScannedAt = time.GetUtcNow();
        }
        pids.AddRange(_fromProc);
    }
}
