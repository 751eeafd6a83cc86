using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>Whether a process holds a VM, told by debugfs's VM folders where they can be listed, else by its descriptors.</summary>
internal sealed partial class GuestFinder
{
    /// <summary>
    /// Whether a process holds a KVM VM: a descriptor of its own that links to anon_inode:kvm-vm.
    /// Where debugfs can be listed, its folders (PID-FD) name every VM by the process that made it
    /// and that process's descriptor: a process it lists holds a VM if that descriptor still is
    /// one (or its descriptors cannot be read), and one it does not list made none, which costs
    /// no look at its descriptors. Without debugfs, its descriptors tell. Null when nothing can tell.
    /// </summary>
    internal bool? HoldsVm(int pid)
    {
        _probe ??= new VmDescriptorProbe(paths);
        if (!ScanFolders())
            return HoldsVmDescriptor(pid);
        int at = _folders.BinarySearch((long)pid << 32);
        for (at = at < 0 ? ~at : at; at < _folders.Count && (int)(_folders[at] >> 32) == pid; at++)
        {
            // A folder names the pid that made a VM, which may have handed it on and exited, the
            // pid then anyone's: the descriptor must still be a VM's (or not to be read).
            if (_probe.HoldsAt(pid, (int)(_folders[at] & 0xffffffff)) != false)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Whether debugfs's VM folders can be listed (within a look, the look's listing): then
    /// <see cref="HoldsVm"/> of a process that made no VM is a search of the listing, no look at
    /// its descriptors.
    /// </summary>
    internal bool ListsVms => ScanFolders();

    /// <summary>What the last listing of debugfs's VM folders held, in one number: it changes when a VM is made or goes.</summary>
    internal long ListingStamp { get; private set; }

    private readonly List<long> _folders = [];
    private DirectoryScanner? _debugfs;
    private bool _foldersTaken, _foldersListed;
    private int _looks;

    /// <summary>
    /// Until it is disposed, every question shares one listing of debugfs's VM folders, taken at the
    /// first: a capture or a sample that asks about thousands of processes lists thousands of
    /// folders once, not once for each (4,000 VMs: 16 million entries read). Outside one, each
    /// question lists them anew, so a VM made a moment ago is known. Looks may nest.
    /// </summary>
    internal Look OneLook()
    {
        if (_looks++ == 0)
            _foldersTaken = false;
        return new Look(this);
    }

    /// <summary>The scope of <see cref="OneLook"/> (a struct: a sample takes one without allocating).</summary>
    internal readonly struct Look(GuestFinder? finder) : IDisposable
    {
        public void Dispose()
        {
            if (finder is not null)
                finder._looks--;
        }
    }

    /// <summary>
    /// Takes debugfs's VM folders into <see cref="_folders"/> (pid &lt;&lt; 32 | fd, sorted, as
    /// <see cref="VmDiscovery"/> reads them): anew for each question, once within a look.
    /// False where debugfs cannot be listed (not mounted, not root).
    /// </summary>
    private bool ScanFolders()
    {
        if (_looks > 0 && _foldersTaken)
            return _foldersListed;
        _foldersListed = (_debugfs ??= new DirectoryScanner(paths.DebugfsKvm)).TryScan(_folders, s_parseFolder) == 0;
        FolderListings++;
        long stamp = _folders.Count;
        foreach (long folder in _folders)
            stamp = stamp * 31 + folder;
        ListingStamp = stamp;
        _foldersTaken = _looks > 0;
        return _foldersListed;
    }

    private static readonly Func<ReadOnlySpan<byte>, long> s_parseFolder = VmFolderName.Parse;
}
