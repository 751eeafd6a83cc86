using KvmStat.Guests;
using KvmStat.Host;

namespace KvmStat.Sources.Tracing;

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

    internal PerVmTracepointSource(TracepointCounterSet set, HostPaths paths, TimeProvider time)
    {
        _set = set;
        _paths = paths;
        _discovery = new VmDiscovery(paths, time);
        _finder = new GuestFinder(paths);
        _sums = new ulong[set.Fields.Count];
        _pool = new VmReadingPool(set.Fields.Count);
        _fields = new StatField[set.Fields.Count];
        for (int i = 0; i < _fields.Length; i++)
            _fields[i] = new StatField(set.Fields[i].Name, set.Fields[i].Parent, StatKind.Counter, FieldOrigin.Tracepoint);
    }

    public IReadOnlyList<StatField> Fields => _fields;

    public void Read(List<VmReading> readings)
    {
        _discovery.List(_pids);
        int v = 0;
        foreach (int pid in _pids)
        {
            while (v < _vms.Count && _vms[v].Pid < pid)
                Drop(v);
            if (v < _vms.Count && _vms[v].Pid == pid)
            {
                v++;
                continue;
            }
            if (!_finder.IsRunning(pid))
                continue;
            _vms.Insert(v++, new ProcessCounters(_set, _paths, pid));
        }
        while (v < _vms.Count)
            Drop(v);

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

    private void Drop(int index)
    {
        _vms[index].Release();
        _vms.RemoveAt(index);
    }

    public void Dispose()
    {
        foreach (ProcessCounters vm in _vms)
            vm.Release();
        _vms.Clear();
    }
}
