using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// Counter groups for every thread of one process (a VM: its vCPU threads and the rest).
/// New threads are picked up when <see cref="Sync"/> runs; the counts of threads that exit are
/// kept, so totals never go backwards. Its threads are listed through a descriptor of its /proc
/// folder, which stays this process's: once it exits, a new process under its pid is not taken
/// for it (the list fails, and it is no longer <see cref="Alive"/>).
/// </summary>
internal sealed class ProcessCounters
{
    private static long s_instances;
    private readonly TracepointCounterSet _set;
    private readonly Interop.FileDescriptor _folder;
    private readonly int _folderErrno;
    private static readonly Func<ReadOnlySpan<byte>, long> s_parseTid = DirectoryScanner.ParsePositive;
    private readonly DirectoryScanner _tasks;
    private readonly List<long> _tids = new(64);
    private readonly List<PerfCounterGroup> _groups = new(64); // sorted by thread id
    private readonly ulong[] _retired;
    private readonly Func<long, PerfCounterGroup?> _open;
    private readonly Action<PerfCounterGroup> _retire;

    internal ProcessCounters(TracepointCounterSet set, HostPaths paths, int pid)
    {
        _set = set;
        Pid = pid;
        int folder = Interop.Libc.Open(Interop.NulTerminated(paths.ProcessDir(pid)), Interop.Abi.O_PATH | Interop.Abi.O_DIRECTORY | Interop.Abi.O_CLOEXEC);
        _folderErrno = folder < 0 ? -folder : 0;
        _folder = new Interop.FileDescriptor(folder);
        // Gone already: the first list fails, as for a process that exits later.
        _tasks = new DirectoryScanner("task", folder);
        _retired = new ulong[set.Fields.Count];
        _open = tid => _set.TryOpenForThread((int)tid);
        _retire = Retire;
    }

    private static long ThreadOf(PerfCounterGroup group) => group.Pid;

    internal int Pid { get; }

    /// <summary>This process among all counted, from 1: a new process under a dead one's pid has another.</summary>
    internal long Instance { get; } = Interlocked.Increment(ref s_instances);

    /// <summary>False once the process has exited (its counts stay).</summary>
    internal bool Alive { get; private set; } = true;

    internal int ThreadCount => _groups.Count;

    /// <summary>How many times its threads were listed (<see cref="Sync"/>).</summary>
    internal int Syncs { get; private set; }

    /// <summary>Opens groups for new threads and retires those of threads that have gone.</summary>
    internal void Sync()
    {
        if (!Alive)
            return;
        Syncs++;
        ThrowIfOutOfDescriptors(_folderErrno);
        int errno = _tasks.TryScan(_tids, s_parseTid);
        ThrowIfOutOfDescriptors(errno);
        // A process whose threads have all exited is a zombie with an empty task list.
        if (errno != 0 || _tids.Count == 0)
        {
            Alive = false;
            foreach (PerfCounterGroup group in _groups)
                Retire(group);
            _groups.Clear();
            return;
        }

        SortedMerge.Sync(_tids, _groups, ThreadOf, _open, _retire);
    }

    /// <summary>Out of descriptors is no exit: the caller leaves the VM out and says so, as when its counters cannot open.</summary>
    private void ThrowIfOutOfDescriptors(int errno)
    {
        if (errno is Interop.Errno.EMFILE or Interop.Errno.ENFILE)
            throw new EnvironmentException($"too many open files while listing the threads of process {Pid} ({Interop.Errno.Describe(errno)}).",
                FileLimit.FixFor(errno));
    }

    /// <summary>A thread that exited: what its counters counted stays, so totals never go backwards.</summary>
    private void Retire(PerfCounterGroup group)
    {
        group.ReadInto(_retired);
        _set.Release(group);
    }

    /// <summary>Stops counting this process: its descriptors are closed in the background.</summary>
    internal void Release()
    {
        foreach (PerfCounterGroup group in _groups)
            _set.Release(group);
        _groups.Clear();
        Alive = false;
        // A descriptor only looked through (O_PATH): its close loses nothing. Nothing lists through it after this (not Alive).
        _folder.Dispose();
    }

    internal void ReadInto(Span<ulong> sums)
    {
        // _retired was sized before the first group was opened, when rejected children may still have been dropped.
        for (int i = 0; i < sums.Length; i++)
            sums[i] += _retired[i];
        foreach (PerfCounterGroup group in _groups)
            group.ReadInto(sums);
    }
}
