using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// Per-VM totals and deltas over a per-VM source: the screen's 'b' view, JSON's guests, the
/// exporter's guest series. A VM counts from when it was first seen; its name is read once (a new
/// process under a dead VM's pid, where the source tells them apart, is a new VM). More rows
/// make the VMs add up to the host: the events outside VMs (the BPF engine tells them; with perf
/// counters, which count only VMs, <see cref="OutsideRemainder"/> finds them), those of VMs that
/// exited, and those the BPF engine had no room to attribute. With --vcpus each
/// VM's vCPUs too (<see cref="GuestVcpus"/>).
/// </summary>
internal sealed class GuestStats : IGuestValues
{
    private readonly IPerVmSource _source;
    private readonly Func<int, string?> _nameOf;
    private readonly List<VmReading> _readings = new(16);
    private readonly List<GuestStat> _guests = new(16);
    // Last sample's VMs by pid while a sample matches readings to them: thousands of VMs stay linear.
    private readonly Dictionary<int, GuestStat> _previous = new(16);
    private readonly List<GuestStat> _others = new(2);
    private readonly TimeProvider _time;
    private readonly GoneVcpuBudget _goneVcpus;
    private readonly Action<string>? _warn;
    private readonly OutsideRemainder? _remainder;
    private GrowthReport _lostReport;
    private long _lastTimestamp;

    /// <param name="goneVcpus">How many vCPUs whose threads are all gone the VMs keep together (<see cref="GoneVcpuBudget"/>).</param>
    /// <param name="warn">Where to say that events of gone threads beyond them are lost.</param>
    internal GuestStats(IPerVmSource source, Func<int, string?> nameOf, TimeProvider time, int goneVcpus = GoneVcpuBudget.Default,
        Action<string>? warn = null)
    {
        _source = source;
        _nameOf = nameOf;
        _time = time;
        Fields = new FieldSet(source.Fields);
        _goneVcpus = new GoneVcpuBudget(goneVcpus)
        {
            Events = [.. Enumerable.Range(0, source.VcpuFields.Count).Where(i => !Fields.IsChild(source.VcpuFields[i]))],
        };
        _warn = warn;
        _remainder = source.SeesOnlyVms ? new OutsideRemainder(Fields) : null;
    }

    public IReadOnlyList<GuestStat> Guests => _guests;

    public IReadOnlyList<GuestStat> Others => _others;

    /// <summary>Rows kept between samples besides those shown (for tests of what stays bounded).</summary>
    internal int RememberedRows => _previous.Count;

    public FieldSet Fields { get; }

    public IReadOnlyList<int> VcpuFields => _source.VcpuFields;

    public long VcpusLost => _source.VcpusLost + _goneVcpus.LostEvents;

    public long VcpuReasonsLost => _source.VcpuReasonsLost;

    public int VmsLeftOut => _source.VmsLeftOut;

    public string LeftOutCause => _source.LeftOutCause;

    public IReadOnlyList<(int Pid, string Name)> LeftOut => _leftOut;

    private readonly List<(int Pid, string Name)> _leftOut = [];
    // Names of VMs left out, read once for each (thousands may be, sample after sample).
    private readonly Dictionary<int, string> _leftOutNames = [];

    /// <summary>The VMs the source left out, named: nothing to do on a host where none is.</summary>
    private void NameLeftOut()
    {
        IReadOnlyList<int> pids = _source.LeftOut;
        if (pids.Count == 0 && _leftOut.Count == 0)
            return;
        _leftOut.Clear();
        for (int i = 0; i < pids.Count; i++)
        {
            if (!_leftOutNames.TryGetValue(pids[i], out string? name))
                _leftOutNames[pids[i]] = name = _nameOf(pids[i]) ?? "";
            _leftOut.Add((pids[i], name));
        }
        // Those no longer left out (counted now, or gone) forget their names: the names kept are
        // those just listed, in one pass.
        if (_leftOutNames.Count > _leftOut.Count)
        {
            _leftOutNames.Clear();
            foreach ((int pid, string name) in _leftOut)
                _leftOutNames[pid] = name;
        }
    }

    public double IntervalSeconds { get; private set; }

    public int SampleCount { get; private set; }

    /// <summary>Reads every VM once; <paramref name="now"/> is the sample's one moment (<see cref="Sampler"/>).</summary>
    internal void Sample(long now)
    {
        _source.Read(_readings);
        IntervalSeconds = SampleCount == 0 ? 0 : (now - _lastTimestamp) / (double)_time.TimestampFrequency;
        _lastTimestamp = now;

        _previous.Clear();
        foreach (GuestStat guest in _guests)
            _previous[guest.Pid] = guest;
        _guests.Clear();
        foreach (VmReading reading in _readings)
        {
            long total = 0;
            for (int i = 0; i < reading.Values.Length; i++)
            {
                if (!Fields.IsChild(i) && Fields[i].Kind == StatKind.Counter)
                    total += reading.Values[i];
            }
            GuestStat? known = reading.Kind == VmRowKind.Vm ? _previous.GetValueOrDefault(reading.Pid) : FindOther(reading.Kind);
            // A new process under a dead VM's pid is a new VM: its own name, its counts from zero.
            if (known is not null && known.Instance != reading.Instance)
                known = null;
            else if (known is not null && reading.Kind == VmRowKind.Vm)
                _previous.Remove(reading.Pid);
            GuestStat guest = known ?? (reading.Kind == VmRowKind.Vm
                ? new GuestStat(reading.Pid, _nameOf(reading.Pid) ?? "", reading.Values.Length) { Instance = reading.Instance, VcpuThreads = new GuestVcpus(_goneVcpus) }
                : new GuestStat(0, LabelOf(reading.Kind), reading.Values.Length, reading.Kind));
            guest.Delta = total - guest.Total;
            guest.Total = total;
            for (int i = 0; i < reading.Values.Length; i++)
            {
                // Counters of a new VM count from zero (their delta is all they counted); its gauges have no previous value.
                bool firstGauge = known is null && Fields[i].Kind != StatKind.Counter;
                long previous = firstGauge ? reading.Values[i] : guest.FieldTotals[i];
                guest.FieldDeltas[i] = reading.Values[i] - previous;
                guest.FieldTotals[i] = reading.Values[i];
            }
            guest.VcpuThreads.Sample(reading.Vcpus);
            if (guest.Kind == VmRowKind.Vm)
                _guests.Add(guest);
            else if (known is null)
                _others.Add(guest);
        }
        NameLeftOut();
        // The rows of VMs that are gone go now, not at the next sample, and their gone vCPUs' room with them.
        foreach (GuestStat gone in _previous.Values)
            gone.VcpuThreads.Release();
        _previous.Clear();
        if (_warn is not null && _lostReport.Due(_goneVcpus.LostEvents, out long grown))
            _warn($"{_goneVcpus.LostEvents} kvm events of exited vCPU threads ({grown} new) are no vCPU's: the running VMs keep {_goneVcpus.Capacity} vCPUs " +
                "whose threads have all exited, and more threads named as vCPUs exited; they are counted as lost (their VMs' counts have them; said again when their number doubles).");
        SampleCount++;
    }

    /// <summary>
    /// After the host's sample, which follows this one's: where the source counts only VMs, the
    /// host's events beyond their rows are the row outside VMs (<see cref="OutsideRemainder"/>).
    /// </summary>
    internal void AddOutside(StatsCollector host)
    {
        if (_remainder is null)
            return;
        _remainder.Update(host.Fields, host.Raw, _guests, _others);
        if (!_others.Contains(_remainder.Row))
            _others.Insert(0, _remainder.Row);
    }

    /// <summary>How the screen names the rows that are no VM.</summary>
    internal static string LabelOf(VmRowKind kind) => kind switch
    {
        VmRowKind.OutsideVms => "(outside VMs)",
        VmRowKind.ExitedVms => "(exited VMs)",
        VmRowKind.Unattributed => "(unattributed)",
        _ => "",
    };

    private GuestStat? FindOther(VmRowKind kind)
    {
        foreach (GuestStat other in _others)
        {
            if (other.Kind == kind)
                return other;
        }
        return null;
    }
}
