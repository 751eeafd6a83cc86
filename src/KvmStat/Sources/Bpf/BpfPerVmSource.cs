using KvmStat.Guests;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Each VM's tracepoint fields from the BPF engine's last capture, and two more rows that make them
/// add up to the host's: the events outside VM processes, and those of VMs that exited. A VM that
/// has not made an event yet has no slot in the kernel's tables: discovery lists it with zeros, as
/// the perf engine would.
/// </summary>
internal sealed class BpfPerVmSource : IPerVmSource
{
    private readonly BpfCounters _counters;
    private readonly StatField[] _fields;
    private readonly VmReadingPool _pool;
    private readonly VmDiscovery _discovery;
    private readonly List<int> _pids = new(64);
    private readonly List<int> _discovered = new(64);
    private readonly VmReading _outside;
    private readonly VmReading _exited;

    internal BpfPerVmSource(BpfCounters counters, VmDiscovery discovery)
    {
        _counters = counters;
        _discovery = discovery;
        _fields = [.. counters.Fields.Select(f => new StatField(f.Name, f.Parent, StatKind.Counter, FieldOrigin.Tracepoint))];
        _pool = new VmReadingPool(_fields.Length);
        _outside = new VmReading(0, _fields.Length, VmRowKind.OutsideVms);
        _exited = new VmReading(0, _fields.Length, VmRowKind.ExitedVms);
        counters.AddUser();
    }

    public IReadOnlyList<StatField> Fields => _fields;

    public void Read(List<VmReading> readings)
    {
        _pool.Recycle(readings);
        _pids.Clear();
        foreach (BpfCounters.Process process in _counters.Processes.Values)
        {
            if (process.IsVm)
                _pids.Add(process.Tgid);
        }
        _discovery.List(_discovered);
        foreach (int pid in _discovered)
        {
            if (!_counters.Processes.ContainsKey(pid))
                _pids.Add(pid);
        }
        _pids.Sort();
        foreach (int pid in _pids)
        {
            VmReading reading = _pool.Take(pid);
            if (_counters.Processes.TryGetValue(pid, out BpfCounters.Process? process))
                process.Totals.CopyTo(reading.Values, 0);
            else
                Array.Clear(reading.Values);
            readings.Add(reading);
        }
        _counters.OutsideVms.CopyTo(_outside.Values, 0);
        _counters.ExitedVms.CopyTo(_exited.Values, 0);
        readings.Add(_outside);
        readings.Add(_exited);
    }

    public void Dispose() => _counters.RemoveUser();
}
