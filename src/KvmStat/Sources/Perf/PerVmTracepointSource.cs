using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// Tracepoint counts per VM: a counter group on every thread of every VM process, so VMs are told
/// apart without debugfs (which lockdown disables). VMs and their threads are followed as they
/// start and stop; a VM that stops leaves the list, its counts to the last in the exited VMs' row.
/// A VM whose counters cannot open (a dense host beyond the open-file limit) is left out until it
/// exits, and said: the others and the host's totals go on (its events are among those outside
/// VMs, <see cref="Stats.OutsideRemainder"/>).
/// </summary>
internal sealed class PerVmTracepointSource : IPerVmSource
{
    private readonly TracepointCounterSet _set;
    private readonly HostPaths _paths;
    private readonly VmDiscovery _discovery;
    private readonly GuestFinder _finder;
    private readonly List<int> _pids = new(16);
    private readonly List<ProcessCounters> _vms = new(16); // sorted by pid
    private readonly VmReadingPool _pool;
    private readonly ulong[] _sums;
    private readonly StatField[] _fields;
    private readonly Func<int, ProcessCounters?> _open;
    private readonly Action<ProcessCounters> _release;
    private readonly Action<string> _warn;
    private readonly HashSet<int> _refused = [];
    private readonly List<int> _leftOut = [];
    private readonly VmReading _exited;
    private readonly ulong[] _exitedSums;
    private readonly ulong[] _retiring;
    private GrowthReport _refusedReport;
    private long _refusedCount;
    private KvmStatException? _lastRefusal;

    internal PerVmTracepointSource(TracepointCounterSet set, HostPaths paths, VmDiscovery discovery, Action<string> warn)
    {
        _warn = warn;
        _set = set;
        _paths = paths;
        _discovery = discovery;
        _finder = new GuestFinder(paths);
        _sums = new ulong[set.Fields.Count];
        _pool = new VmReadingPool(set.Fields.Count);
        _fields = [.. set.Fields.Set.All];
        _open = pid => !_refused.Contains(pid) && _finder.IsRunning(pid) ? new ProcessCounters(_set, _paths, pid) : null;
        _release = Retire;
        _exited = new VmReading(0, _fields.Length, VmRowKind.ExitedVms);
        _exitedSums = new ulong[_fields.Length];
        _retiring = new ulong[_fields.Length];
    }

    public bool SeesOnlyVms => true;

    /// <summary>
    /// A VM that is gone (or no longer listed as one): what its counters counted, to the last, goes
    /// to the exited VMs' row, whole or not at all (a read that fails adds nothing twice), and its
    /// counters close whatever the read did.
    /// </summary>
    private void Retire(ProcessCounters vm)
    {
        try
        {
            Array.Clear(_retiring);
            vm.ReadInto(_retiring);
            for (int i = 0; i < _retiring.Length; i++)
                _exitedSums[i] += _retiring[i];
        }
        finally
        {
            vm.Release();
        }
    }

    private static int PidOf(ProcessCounters vm) => vm.Pid;

    public IReadOnlyList<StatField> Fields => _fields;

    /// <summary>VM processes whose threads are counted (for tests of what stays bounded).</summary>
    internal int TrackedVms => _vms.Count;

    /// <summary>
    /// Opens counters for VMs that started since the last read, and for the threads of those
    /// started in the last <see cref="YoungFollows"/> follows (a thread is counted from when its
    /// counters open: the exporter follows every second so that a new VM's vCPUs count from then,
    /// not from the next scrape), and closes those of VMs that stopped; a VM that exited while its
    /// pid is still listed (another process took it, or the list is a few seconds old) is counted
    /// anew if a VM runs under it.
    /// </summary>
    public void Follow() => Follow(everyVm: false);

    /// <summary>
    /// A VMM makes its vCPU threads in its first seconds: the follow between reads lists the threads
    /// of a VM that young (a list of every VM's threads every second cost an idle exporter of 1,000
    /// VMs 17-19 ms of CPU a second instead of 4-5); a read lists every VM's.
    /// </summary>
    internal const int YoungFollows = 10;

    private void Follow(bool everyVm)
    {
        _discovery.List(_pids);
        SortedMerge.Sync(_pids, _vms, PidOf, _open, _release);
        // A refused VM that exited: its pid may run another VM later.
        if (_refused.Count > 0)
            _refused.RemoveWhere(pid => _pids.BinarySearch(pid) < 0);
        // In pid order: where descriptors run out, the VMs first counted keep theirs.
        for (int i = 0; i < _vms.Count; i++)
        {
            if (!everyVm && _vms[i].Syncs >= YoungFollows)
                continue;
            try
            {
                _vms[i].Sync();
            }
            catch (KvmStatException e)
            {
                Refuse(_vms[i], e);
                _vms.RemoveAt(i--);
            }
        }
        ReportRefusals();
        // Those whose listing just found them gone: their counts go to the exited VMs' row in this
        // same read, never missing from every row for one sample (a VM under the same pid is counted
        // from the next follow).
        for (int i = _vms.Count - 1; i >= 0; i--)
        {
            if (_vms[i].Alive)
                continue;
            Retire(_vms[i]);
            _vms.RemoveAt(i);
        }
    }

    /// <summary>VMs left out since the start because their counters could not open.</summary>
    internal long RefusedVms => _refusedCount;

    public int VmsLeftOut => _leftOut.Count;

    public string LeftOutCause => "their perf counters could not open (the open-file limit)";

    /// <summary>The running VMs refused, by pid, as of the last read.</summary>
    public IReadOnlyList<int> LeftOut => _leftOut;

    public void Read(List<VmReading> readings)
    {
        Follow(everyVm: true);
        _leftOut.Clear();
        if (_refused.Count > 0)
        {
            foreach (int pid in _pids)
            {
                if (_refused.Contains(pid))
                    _leftOut.Add(pid);
            }
        }

        _pool.Recycle(readings);
        foreach (ProcessCounters vm in _vms)
        {
            if (!vm.Alive)
                continue;
            Array.Clear(_sums);
            vm.ReadInto(_sums);
            VmReading reading = _pool.Take(vm.Pid);
            reading.Instance = vm.Instance;
            for (int i = 0; i < _sums.Length; i++)
                reading.Values[i] = (long)_sums[i];
            readings.Add(reading);
        }
        for (int i = 0; i < _exitedSums.Length; i++)
            _exited.Values[i] = (long)_exitedSums[i];
        readings.Add(_exited);
    }

    /// <summary>
    /// A VM whose counters no longer fit: it leaves the rows, and what it counted until then is
    /// among the events outside VMs from then on (as a VM's counts go to the exited VMs' row when
    /// it exits: OutsideRemainder finds them in the host's count), its later events too.
    /// </summary>
    private void Refuse(ProcessCounters vm, KvmStatException e)
    {
        vm.Release();
        _refused.Add(vm.Pid);
        _refusedCount++;
        _lastRefusal = e;
    }

    /// <summary>
    /// Once a follow: the VMs left out so far, when their number has doubled since last said (a
    /// dense host that runs out at start says it in one line, not once for each doubling).
    /// </summary>
    private void ReportRefusals()
    {
        if (_lastRefusal is not KvmStatException e)
            return;
        _lastRefusal = null;
        if (_refusedReport.Due(_refusedCount, out _))
            _warn($"{_refusedCount} VMs are left out of the per-VM counts (their events are in the host's totals, and outside VMs): {e.Message}" +
                $"{(e.Fix is null ? "" : " " + e.Fix)} (said again when their number doubles)");
    }

    public void Dispose()
    {
        foreach (ProcessCounters vm in _vms)
            vm.Release();
        _vms.Clear();
    }
}
