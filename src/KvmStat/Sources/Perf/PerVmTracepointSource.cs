using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// Tracepoint counts per VM: a counter group on every thread of every VM process, so VMs are told
/// apart without debugfs (which lockdown disables). VMs and their threads are followed as they
/// start and stop; a VM that stops leaves the list.
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

    internal PerVmTracepointSource(TracepointCounterSet set, HostPaths paths, VmDiscovery discovery)
    {
        _set = set;
        _paths = paths;
        _discovery = discovery;
        _finder = new GuestFinder(paths);
        _sums = new ulong[set.Fields.Count];
        _pool = new VmReadingPool(set.Fields.Count);
        _fields = new StatField[set.Fields.Count];
        for (int i = 0; i < _fields.Length; i++)
            _fields[i] = set.Fields[i].ToStatField();
        _open = pid => _finder.IsRunning(pid) ? new ProcessCounters(_set, _paths, pid) : null;
        _release = vm => vm.Release();
    }

    private static int PidOf(ProcessCounters vm) => vm.Pid;

    public IReadOnlyList<StatField> Fields => _fields;

    /// <summary>VM processes whose threads are counted (for tests of what stays bounded).</summary>
    internal int TrackedVms => _vms.Count;

    /// <summary>Opens counters for VMs that started since the last read and closes those of VMs that stopped.</summary>
    public void Follow()
    {
        _discovery.List(_pids);
        SortedMerge.Sync(_pids, _vms, PidOf, _open, _release);
    }

    public void Read(List<VmReading> readings)
    {
        Follow();

        _pool.Recycle(readings);
        foreach (ProcessCounters vm in _vms)
        {
            vm.Sync();
            if (!vm.Alive)
                continue;
            Array.Clear(_sums);
            vm.ReadInto(_sums);
            VmReading reading = _pool.Take(vm.Pid);
            for (int i = 0; i < _sums.Length; i++)
                reading.Values[i] = (long)_sums[i];
            readings.Add(reading);
        }
    }

    public void Dispose()
    {
        foreach (ProcessCounters vm in _vms)
            vm.Release();
        _vms.Clear();
    }
}
