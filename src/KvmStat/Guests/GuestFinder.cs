using System.Globalization;
using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>
/// Finds VM processes and their names by reading /proc directly (no ps subprocess), tolerating
/// processes that vanish in the middle of a scan.
/// </summary>
internal sealed partial class GuestFinder(HostPaths paths)
{
    /// <summary>
    /// Every process whose command line carries a -name and that holds a VM (or where that cannot
    /// be told, as <see cref="CheckPid"/> decides), by pid: any user may name a process as a guest.
    /// </summary>
    internal IReadOnlyList<GuestProcess> ListGuests() => ListGuests(ListBudget);

    /// <summary>Listings of debugfs's VM folders so far (for tests of what a question costs).</summary>
    internal long FolderListings { get; private set; }

    /// <summary>Descriptors looked at so far (for tests of what a question costs).</summary>
    internal long DescriptorsExamined => _probe?.Examined ?? 0;

    /// <summary>The descriptors a guest list looks at, at most (tests make it small).</summary>
    internal int ListBudget { get; init; } = VmDiscovery.ScanBudget;

    /// <summary>Where a guest list says it could not look at every process (null: nowhere).</summary>
    internal Action<string>? Warn { get; init; }

    private long _listBudgetEnd = long.MaxValue;
    private int _leftOut;

    /// <summary>
    /// The guest list, looking at no more than <paramref name="budget"/> descriptors where debugfs
    /// cannot tell which processes made VMs: any user's processes may share thousands each. Those
    /// with a -name past the budget are left out, and that is said.
    /// </summary>
    internal IReadOnlyList<GuestProcess> ListGuests(int budget)
    {
        _probe ??= new VmDescriptorProbe(paths);
        _listBudgetEnd = _probe.Examined + budget;
        _leftOut = 0;
        // One look at debugfs's folders serves the whole list.
        using Look look = OneLook();
        try
        {
            List<GuestProcess> guests = ListProcesses(GuestOf);
            if (_leftOut > 0)
                Warn?.Invoke($"{_leftOut} process(es) named as guests were not looked at for a VM: the processes hold more descriptors than one list looks at ({budget}). " +
                    VmDiscovery.AtOnce(paths));
            return guests;
        }
        finally
        {
            _listBudgetEnd = long.MaxValue;
        }
    }

    /// <summary><see cref="HoldsVm"/> within a list's budget: false, and counted as left out, once the budget is spent where only descriptors can tell.</summary>
    private bool? HoldsVmInList(int pid)
    {
        if (_probe is { } probe && probe.Examined >= _listBudgetEnd && !ScanFolders())
        {
            _leftOut++;
            return false;
        }
        return HoldsVm(pid);
    }

    /// <summary>The first bytes of a command line that a list reads of every process.</summary>
    private const int CmdlineGlance = 64 * 1024;

    /// <summary>
    /// A process as the guest lists see it. Any user's command line may be megabytes long: a list
    /// reads the first 64 KiB of each, and the rest only of a process that holds a VM. Whether it
    /// holds one (its descriptors) is asked only of a process with a -name, or with more to read.
    /// </summary>
    private GuestProcess? GuestOf(int pid) => GuestOf(pid, wanted: null, HoldsVmInList);

    /// <param name="wanted">Only a process of this name (null: any name), asked about its descriptors only then.</param>
    private GuestProcess? GuestOf(int pid, string? wanted, Func<int, bool?> holdsVm)
    {
        string? head = ReadText(Path.Join(paths.ProcessDir(pid), "cmdline"), CmdlineGlance);
        if (head is null)
            return null;
        if (System.Text.Encoding.UTF8.GetByteCount(head) < CmdlineGlance)
            return GuestName.FromCmdline(head) is string name && (wanted is null || name == wanted) && holdsVm(pid) != false ? new GuestProcess(pid, name) : null;
        // A list of every guest asks about the descriptors first (within its budget) rather than read
        // every long command line whole; one name asks only the processes of that name.
        if (wanted is not null)
            return NameOf(pid) == wanted && holdsVm(pid) != false ? new GuestProcess(pid, wanted) : null;
        return holdsVm(pid) != false && NameOf(pid) is string whole ? new GuestProcess(pid, whole) : null;
    }

    /// <summary>The processes <paramref name="select"/> keeps, sorted by pid; those that vanish meanwhile are skipped.</summary>
    private List<GuestProcess> ListProcesses(Func<int, GuestProcess?> select)
    {
        var found = new List<GuestProcess>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories(paths.Proc);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A /proc that cannot be listed shows no process: callers say "no guest found" or list none.
            return found;
        }
        foreach (string dir in entries)
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) &&
                select(pid) is GuestProcess process)
                found.Add(process);
        }
        found.Sort((a, b) => a.Pid.CompareTo(b.Pid));
        return found;
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    internal bool IsRunning(int pid) => ProcessStat.TryRead(StatPathZ(pid), out _);

    /// <summary>When a running process started (<see cref="ProcessStat"/>), or null when it is not running.</summary>
    internal long? StartOf(int pid) => ProcessStat.TryRead(StatPathZ(pid), out long start) ? start : null;

    /// <summary>
    /// The NUL-terminated path of a process's /proc/PID/stat, for <see cref="ProcessStat.TryRead"/>.
    /// The last one made is kept: a watched VM is asked about at every sample, which allocates nothing.
    /// </summary>
    internal byte[] StatPathZ(int pid)
    {
        // One immutable pair, read and replaced whole: safe from the exporter's threads too.
        StatPath? last = _lastStat;
        if (last is not null && last.Pid == pid)
            return last.PathZ;
        var made = new StatPath(pid, Interop.NulTerminated(Path.Join(paths.ProcessDir(pid), "stat")));
        _lastStat = made;
        return made.PathZ;
    }

    private sealed record StatPath(int Pid, byte[] PathZ);

    private StatPath? _lastStat;

    /// <summary>The guest name of a process, or null when it has no -name (or is gone).</summary>
    internal string? NameOf(int pid)
    {
        string? cmdline = ReadCmdline(pid);
        return cmdline is null ? null : GuestName.FromCmdline(cmdline);
    }

    /// <summary>
    /// The guest name of a VM's pid, for the rows of VMs (a debugfs folder names the pid that made
    /// a VM, which may be another process's by now): none unless the process holds a VM.
    /// </summary>
    internal string? NameOfVm(int pid) => HoldsVm(pid) != false ? NameOf(pid) : null;

    internal string? ReadCmdline(int pid) => ReadText(Path.Join(paths.ProcessDir(pid), "cmdline"));

    /// <summary>The pids of the running guests with exactly this name.</summary>
    internal IReadOnlyList<int> PidsNamed(string name)
    {
        // Only the processes of that name are asked about their descriptors, so no budget runs out
        // before them on a host of thousands of VMs (a list of every guest looks at 65,536 at most).
        // One look at debugfs's folders serves them all, as for a list.
        using Look look = OneLook();
        return [.. ListProcesses(pid => GuestOf(pid, name, HoldsVm)).Select(g => g.Pid)];
    }

    /// <summary>
    /// The one decision of whether a pid names a VM to watch: a running process (not a thread of
    /// one) that holds a VM, or where that cannot be told. The command line and the screen each
    /// word the verdict their own way.
    /// </summary>
    internal PidCheck CheckPid(int pid)
    {
        if (!IsRunning(pid))
            return new PidCheck(PidVerdict.NotRunning, pid);
        if (ThreadGroupOf(pid) is int process && process != pid)
            return new PidCheck(PidVerdict.Thread, process);
        return new PidCheck(HoldsVm(pid) switch { false => PidVerdict.NotVm, true => PidVerdict.Vm, null => PidVerdict.Unconfirmed }, pid);
    }

    /// <summary>The thread-group id (process id) of a task id, from /proc/ID/status; null when gone.</summary>
    internal int? ThreadGroupOf(int id)
    {
        string? status = ReadText(Path.Join(paths.ProcessDir(id), "status"));
        if (status is null)
            return null;
        foreach (string line in status.Split('\n'))
        {
            if (line.StartsWith("Tgid:", StringComparison.Ordinal) &&
                int.TryParse(line.AsSpan(5).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int tgid))
                return tgid;
        }
        return null;
    }

    /// <summary>The short command name of a process (/proc/PID/comm), for messages.</summary>
    internal string CommandOf(int pid) => ReadText(Path.Join(paths.ProcessDir(pid), "comm"))?.TrimEnd('\n') ?? "?";

    /// <summary>
    /// Whether a process holds a KVM VM descriptor itself (anon_inode:kvm-vm): what only the
    /// process that runs a VM has. A debugfs folder names the pid that created the VM, which may
    /// have handed it on and exited, its pid then reused by anyone. Null when it cannot be told.
    /// </summary>
    internal bool? HoldsVmDescriptor(int pid) => (_probe ??= new VmDescriptorProbe(paths)).Holds(pid, out _);

    private VmDescriptorProbe? _probe;

    /// <summary>
    /// A process's descriptors and what they link to (/proc/PID/fd), or null when they cannot be
    /// listed or read; descriptors closed during the listing are skipped.
    /// </summary>
    internal List<(int Fd, string Link)>? DescriptorLinks(int pid)
    {
        List<string> entries;
        try
        {
            entries = [.. Directory.EnumerateFileSystemEntries(Path.Join(paths.ProcessDir(pid), "fd"))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var links = new List<(int, string)>(entries.Count);
        foreach (string entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
                continue;
            try
            {
                if (new FileInfo(entry).LinkTarget is string link)
                    links.Add((fd, link));
            }
            catch (UnauthorizedAccessException)
            {
                // Listed but not readable (reading another user's links takes CAP_SYS_PTRACE): not knowing is not "none".
                return null;
            }
            catch (IOException)
            {
                // Closed between the listing and the look at its link: it is no longer there to report.
            }
        }
        return links;
    }

    private static string? ReadText(string path, int maxBytes = 16 << 20) => SysFile.TryReadText(path, maxBytes);
}
