using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// Counter groups for every thread of one process (a VM: its vCPU threads and the rest).
/// New threads are picked up when <see cref="Sync"/> runs; the counts of threads that exit are
/// kept, so totals never go backwards.
/// </summary>
internal sealed class ProcessCounters
{
    private readonly TracepointCounterSet _set;
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
        _tasks = new DirectoryScanner(Path.Join(paths.ProcessDir(pid), "task"));
        _retired = new ulong[set.Fields.Count];
        _open = tid => _set.TryOpenForThread((int)tid);
        _retire = Retire;
    }

    private static long ThreadOf(PerfCounterGroup group) => group.Pid;

    internal int Pid { get; }

    /// <summary>False once the process has exited (its counts stay).</summary>
    internal bool Alive { get; private set; } = true;

    internal int ThreadCount => _groups.Count;

    /// <summary>Opens groups for new threads and retires those of threads that have gone.</summary>
    internal void Sync()
    {
        if (!Alive)
            return;
        // A process whose threads have all exited is a zombie with an empty task list.
        if (_tasks.TryScan(_tids, s_parseTid) != 0 || _tids.Count == 0)
        {
            Alive = false;
            foreach (PerfCounterGroup group in _groups)
                Retire(group);
            _groups.Clear();
            return;
        }

        SortedMerge.Sync(_tids, _groups, ThreadOf, _open, _retire);
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
