using KvmStat.Guests;
using KvmStat.Host;

namespace KvmStat.Sources.Debugfs;

/// <summary>
/// KVM's debugfs statistics: one file per statistic in each VM folder /sys/kernel/debug/kvm/PID-FD,
/// summed over the VMs (or over one VM's folders with a pid). Counters count from the tool's start
/// (from each VM's start with -i); gauges (read-only files) are shown as they are.
/// Under kernel lockdown the writable (cumulative) files cannot be opened: those fields are left
/// out and named once, never shown as zeros.
/// </summary>
internal sealed class DebugfsSource : IStatsSource, IPerVmSource
{
    private static readonly Func<ReadOnlySpan<byte>, long> s_parseFolder = VmFolderName.Parse;

    private readonly string _kvmDir;
    private readonly int _pid;
    private readonly bool _includePast;
    private readonly StatFileReader _reader;
    private readonly StatField[] _fields;
    private readonly DirectoryScanner _scanner;
    private readonly List<(long Key, ulong Inode)> _folderKeys = new(16);
    private readonly List<VmFolder> _folders = new(16); // sorted by key and inode
    private readonly long[] _retired;
    private readonly VmReading _exited;
    private readonly VmReadingPool _pool;
    private readonly List<(long Key, ulong Inode)> _wanted = new(16);
    private readonly Func<(long Key, ulong Inode), VmFolder?> _open;
    private readonly Action<VmFolder> _retire;
    private readonly FolderReaders _folderReaders;
    private readonly Action<string> _warn;
    private bool _started;
    private long _instances;

    /// <summary>
    /// Sums of nanoseconds, left out as the reference leaves them out: without a unit in debugfs
    /// they would count as events and drown every other in the Total. The binary statistics carry
    /// them with their unit (--binary-stats, --qmp).
    /// </summary>
    private static readonly HashSet<string> TimeSums = ["halt_poll_fail_ns", "halt_poll_success_ns", "halt_wait_ns"];

    internal DebugfsSource(
        HostPaths paths, IFieldSelection selection, int pid, bool includePast, StatFileReader reader, Action<string> warn)
    {
        _kvmDir = Locate(paths);
        _warn = warn;
        _pid = pid;
        _includePast = includePast;
        _reader = reader;
        _scanner = new DirectoryScanner(_kvmDir);

        List<StatField> available = Available(_kvmDir);
        AllFieldNames = available.ConvertAll(f => f.Name);

        var readable = new List<StatField>();
        var locked = new List<string>();
        int lockErrno = 0;
        foreach (StatField field in selection.Select(available, f => f.Name, f => f.Parent))
        {
            int errno = _reader.TryReadInt64(Interop.Abi.AT_FDCWD, Interop.NulTerminated(Path.Join(_kvmDir, field.Name)), out _);
            if (errno is Interop.Errno.EPERM or Interop.Errno.EACCES)
            {
                locked.Add(field.Name);
                lockErrno = errno;
            }
            else
            {
                readable.Add(field);
            }
        }
        _fields = [.. readable];
        _retired = new long[_fields.Length];
        _exited = new VmReading(0, _fields.Length, VmRowKind.ExitedVms);
        _open = id => new VmFolder(id.Key, id.Inode, Path.Join(_kvmDir, $"{id.Key >> 32}-{id.Key & 0xffffffff}"), _fields.Length);
        _retire = folder => folder.AddTo(_retired, _fields, countersOnly: true);
        _folderReaders = new FolderReaders(_reader, [.. _fields.Select(f => Interop.NulTerminated(f.Name))]);
        _pool = new VmReadingPool(_fields.Length);
        LockedFields = locked;
        if (locked.Count > 0)
            SayLocked(locked, lockErrno, _fields.Length, warn);
    }

    /// <summary>The statistic files of <paramref name="kvmDir"/> as fields, sorted by name.</summary>
    private static List<StatField> Available(string kvmDir)
    {
        var available = new List<StatField>();
        foreach (string file in Directory.EnumerateFiles(kvmDir))
        {
            if (TimeSums.Contains(Path.GetFileName(file)))
                continue;
            UnixFileMode mode = File.GetUnixFileMode(file);
            bool writable = (mode & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0;
            // KVM makes cumulative and peak statistics writable (they can be cleared); instant values read-only.
            available.Add(new StatField(Path.GetFileName(file), null, writable ? StatKind.Counter : StatKind.Gauge, FieldOrigin.Debugfs));
        }
        available.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return available;
    }

    /// <summary>Names the selected statistics that cannot be read, once; an error when none can.</summary>
    private static void SayLocked(List<string> locked, int errno, int readable, Action<string> warn)
    {
        string cause = errno == Interop.Errno.EPERM
            ? "kernel lockdown forbids reading them (EPERM)"
            : "this user may not read them (EACCES)";
        string sample = string.Join(", ", locked.Take(4)) + (locked.Count > 4 ? ", ..." : "");
        if (readable == 0)
            throw new DebugfsLockedException(
                $"none of the {locked.Count} selected debugfs statistics can be read ({sample}): {cause}.",
                "Use tracepoints instead (the default, -t); under lockdown debugfs shows only instant values such as pages_4k.",
                lockdown: errno == Interop.Errno.EPERM);
        warn($"{locked.Count} of {locked.Count + readable} debugfs statistics are left out ({sample}): {cause}.");
    }

    /// <summary>The statistics KVM publishes in debugfs, sorted; none where debugfs cannot be listed (its own check, or the run that reads it, says why).</summary>
    internal static List<string> StatNames(HostPaths paths)
    {
        try
        {
            return Directory.Exists(paths.DebugfsKvm) ? [.. Directory.EnumerateFiles(paths.DebugfsKvm).Select(Path.GetFileName).OfType<string>().Where(name => !TimeSums.Contains(name)).Order(StringComparer.Ordinal)] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Every statistic file KVM publishes, readable or not (for -f help).</summary>
    internal IReadOnlyList<string> AllFieldNames { get; }

    /// <summary>Selected statistics that cannot be read (lockdown): never reported as zeros.</summary>
    internal IReadOnlyList<string> LockedFields { get; }

    public string Name => SourceHealth.Debugfs;

    public IReadOnlyList<StatField> Fields => _fields;

    /// <summary>VM folders followed (for tests of what stays bounded).</summary>
    internal int FolderCount => _folders.Count;

    /// <summary>How many VM folders debugfs has now for <paramref name="pid"/>.</summary>
    internal int FolderCountFor(int pid)
    {
        var keys = new List<long>();
        if (_scanner.TryScan(keys, s_parseFolder) != 0)
            return 0;
        return keys.Count(key => (int)(key >> 32) == pid);
    }

    private static string Locate(HostPaths paths)
    {
        if (Directory.Exists(paths.DebugfsKvm))
            return paths.DebugfsKvm;
        bool? mounted = DebugfsMount.Listed(paths);
        if (mounted is null)
            throw new EnvironmentException(
                $"cannot read {paths.Debugfs}: permission denied (debugfs is readable by root only).",
                "Run kvm_stat as root (e.g. with sudo), or give it CAP_DAC_READ_SEARCH: kvm_stat --doctor lists what each source needs.");
        if (mounted == false)
            throw new EnvironmentException(
                $"debugfs is not mounted (no {paths.DebugfsKvm}).",
                "Mount it with: mount -t debugfs none /sys/kernel/debug");
        // KVM makes the folder: why it is missing is why KVM is not there, in the kernel's words.
        KvmAvailability kvm = KvmAvailability.Probe(paths);
        if (kvm.Usable)
            throw new EnvironmentException(
                $"debugfs has no kvm folder ({paths.DebugfsKvm}) although /dev/kvm exists.",
                "Count with tracepoints instead (kvm_stat without -d).");
        throw new EnvironmentException($"debugfs has no kvm folder ({paths.DebugfsKvm}): {kvm.Describe()}.", kvm.Fix!);
    }

    public void Read(Span<long> values)
    {
        Refresh();
        _retired.CopyTo(values);
        foreach (VmFolder folder in _folders)
            folder.AddTo(values, _fields);
    }

    /// <summary>
    /// Per-VM values: the folders of one pid summed (a VM process may hold several VMs). A pid none
    /// of whose folders were there at the last read is a new instance (a new process under a dead
    /// one's pid, or its VMs made anew), which counts from zero. A row of the VMs that exited makes
    /// the guests add up to the host's counters.
    /// </summary>
    public void Read(List<VmReading> readings)
    {
        Refresh();
        _pool.Recycle(readings);
        for (int first = 0, next; first < _folders.Count; first = next)
        {
            int pid = _folders[first].Pid;
            long instance = 0;
            for (next = first; next < _folders.Count && _folders[next].Pid == pid; next++)
                instance = Math.Max(instance, _folders[next].Instance);
            if (instance == 0)
                instance = ++_instances;
            VmReading reading = _pool.Take(pid);
            reading.Instance = instance;
            Array.Clear(reading.Values);
            for (int f = first; f < next; f++)
            {
                _folders[f].Instance = instance;
                _folders[f].AddTo(reading.Values, _fields);
            }
            readings.Add(reading);
        }
        // What VMs that exited counted: with the guests, the host's counters.
        _retired.CopyTo(_exited.Values, 0);
        readings.Add(_exited);
    }

    /// <summary>Follows the folders that come and go, then reads every one of them once.</summary>
    private void Refresh()
    {
        SyncFolders();
        _folderReaders.ReadAll(_folders);
        foreach (VmFolder folder in _folders)
        {
            // Never a silent zero: a file that holds no number is said once, and keeps its last value.
            if (folder.Unreadable.Field >= 0 && !folder.Said)
            {
                folder.Said = true;
                string what = folder.Unreadable.Errno == Interop.Errno.ERANGE ? "a number beyond a signed 64-bit count" : "no decimal number";
                _warn($"debugfs {folder.Pid}-{folder.Key & 0xffffffff}/{_fields[folder.Unreadable.Field].Name} holds {what}: it keeps its last value (0 at first).");
            }
            if (!folder.IsNew)
                continue;
            // VMs that exist when the tool starts count from now (unless -i); later ones from their start.
            if (_started || _includePast)
                folder.ClearBaseline();
            else
                folder.SetBaselineToCurrent();
            folder.IsNew = false;
        }
        _started = true;
    }

    private void SyncFolders()
    {
        if (_scanner.TryScan(_folderKeys, s_parseFolder) != 0)
            _folderKeys.Clear();
        _wanted.Clear();
        foreach ((long key, ulong inode) in _folderKeys)
        {
            if (_pid == 0 || (int)(key >> 32) == _pid)
                _wanted.Add((key, inode));
        }
        // A folder that vanished keeps what its counters added (so totals never go backwards); one
        // made again under the same name (another inode) is another VM, which counts from its start.
        SortedMerge.Sync(_wanted, _folders, KeyOf, _open, _retire);
    }

    private static (long, ulong) KeyOf(VmFolder folder) => (folder.Key, folder.Inode);

    public void Dispose() => _folderReaders.Dispose();
}
