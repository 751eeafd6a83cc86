using KvmStat.Guests;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Each VM's tracepoint fields from the BPF engine's last capture, and the rows that make them add
/// up to the host's: the events outside VM processes, those of VMs that exited, and those no slot
/// was left for. A VM that has not made an event yet has no slot in the kernel's tables: discovery
/// lists it with zeros, as the perf engine would, unless the table was full or events found no slot
/// since the last read: then it may have made events that no slot was left for, and it is left out
/// (<see cref="VmsLeftOut"/>), never shown as idle. With --vcpus each VM's reading has its vCPU threads.
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
    private readonly VmReading _unattributed;
    private long _unattributedBefore;
    // VMs without a slot that may have lost events: left out until they have one, never listed as
    // idle in between (the table's fullness comes and goes as other processes give slots back).
    private readonly HashSet<int> _leftOut = [];
    private readonly List<int> _stillLeftOut = new(16);

    internal BpfPerVmSource(BpfCounters counters, VmDiscovery discovery)
    {
        _counters = counters;
        _discovery = discovery;
        _fields = [.. counters.Fields.Set.All.Take(counters.Shown)];
        _pool = new VmReadingPool(_fields.Length);
        _outside = new VmReading(0, _fields.Length, VmRowKind.OutsideVms);
        _exited = new VmReading(0, _fields.Length, VmRowKind.ExitedVms);
        _unattributed = new VmReading(0, _fields.Length, VmRowKind.Unattributed);
        // A thread's counts are by field, as a process's (its tracepoints' and their reasons', from its
        // row); those counted for latencies alone come after those shown.
        VcpuFields = counters.Layout.PerThread ? [.. Enumerable.Range(0, counters.Shown)] : [];
    }

    public IReadOnlyList<StatField> Fields => _fields;

    public IReadOnlyList<int> VcpuFields { get; }

    public long VcpusLost => _counters.VcpusLostShown;

    public long VcpuReasonsLost => _counters.VcpuReasonsLost;

    /// <summary>Running VMs without a slot at the last read since the table was full (their events are unattributed).</summary>
    public int VmsLeftOut => _stillLeftOut.Count;

    public string LeftOutCause => "the BPF table is full (their events are unattributed)";

    /// <summary>Their pids, in the order the VMs were listed (by pid).</summary>
    public IReadOnlyList<int> LeftOut => _stillLeftOut;

    public void Read(List<VmReading> readings)
    {
        _pool.Recycle(readings);
        _pids.Clear();
        _pids.AddRange(_counters.Vms.Keys);
        _discovery.List(_discovered);
        long unattributed = _counters.UnattributedEvents;
        bool full = _counters.SlotsInUse >= _counters.Capacity || unattributed > _unattributedBefore;
        _unattributedBefore = unattributed;
        _stillLeftOut.Clear();
        foreach (int pid in _discovered)
        {
            if (_counters.Vms.ContainsKey(pid))
                continue;
            if (full || _leftOut.Contains(pid))
                _stillLeftOut.Add(pid);
            else
                _pids.Add(pid);
        }
        _leftOut.Clear();
        foreach (int pid in _stillLeftOut)
            _leftOut.Add(pid);
        _pids.Sort();
        foreach (int pid in _pids)
        {
            VmReading reading = _pool.Take(pid);
            reading.Vcpus.Clear();
            if (_counters.Vms.TryGetValue(pid, out BpfProcess? process))
            {
                reading.Instance = process.Instance;
                process.Totals.AsSpan(0, _fields.Length).CopyTo(reading.Values);
                foreach (BpfThread thread in process.Threads)
                    reading.Vcpus.Add(thread.Reading);
            }
            else
            {
                reading.Instance = 0;
                Array.Clear(reading.Values);
            }
            readings.Add(reading);
        }
        _counters.OutsideVms.AsSpan(0, _fields.Length).CopyTo(_outside.Values);
        _counters.ExitedVms.AsSpan(0, _fields.Length).CopyTo(_exited.Values);
        _counters.Unattributed.AsSpan(0, _fields.Length).CopyTo(_unattributed.Values);
        readings.Add(_outside);
        readings.Add(_exited);
        readings.Add(_unattributed);
    }

    /// <summary>
    /// Between samples (the exporter, every second): a capture gives back the slots of processes
    /// that are done, so that a long scrape interval on a host where short-lived VMs come and go
    /// does not fill the table. Their counts wait in the engine for the next sample.
    /// </summary>
    public void Follow() => _counters.Follow();

    /// <summary>Nothing of its own: the engine owns the counters.</summary>
    public void Dispose()
    {
    }
}
