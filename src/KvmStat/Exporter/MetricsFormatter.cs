using System.Globalization;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Exporter;

/// <summary>
/// Turns a <see cref="Snapshot"/> into metric families:
/// <list type="bullet">
/// <item>kvm_events_total{event} and kvm_event_reasons_total{event,reason}: tracepoint fields of the host;</item>
/// <item>kvm_guest_events_total{guest,pid,event} and kvm_guest_event_reasons_total{guest,pid,event,reason}: tracepoint fields of each VM, and
/// kvm_events_outside_vms_total{event}, kvm_events_exited_vms_total{event} and kvm_stat_unattributed_events_total{event}, which with the
/// guests add up to kvm_events_total;</item>
/// <item>kvm_debugfs_NAME: debugfs statistics;</item>
/// <item>kvm_vm_NAME{guest,pid} and kvm_vcpu_NAME{guest,pid,vcpu}: binary statistics in base units,
/// cumulative ones as counters, instant and peak ones as gauges, histograms as histograms.</item>
/// </list>
/// Which family a field goes to is its <see cref="FieldOrigin"/>. A VM's counters count from its
/// process's first event: a new VM under a dead one's pid starts from zero, never from the dead
/// VM's counts. Binary statistics are the snapshot's values, only put in base units
/// (<see cref="KvmStatDescriptor.InBase"/>, written by <see cref="BaseUnits"/>): one statistic is the same quantity here and in every other output.
/// </summary>
internal sealed class MetricsFormatter(
    FieldFilter filter, Action<string> warn, FieldFilter? guestFilter = null)
{
    private readonly BinaryFamilies _binary = new(filter, warn);

    internal List<MetricFamily> Format(Snapshot snapshot)
    {
        var families = new List<MetricFamily>();
        AddHost(families, snapshot.Host);
        if (snapshot.Guests is IGuestValues guests)
        {
            AddGuests(families, guests);
            VcpuMetrics.Add(families, guests, guestFilter is null ? null : _guestShown);
        }
        if (snapshot.Binary is IReadOnlyList<VmStatsBlocks> binary)
            AddBinary(families, binary);
        if (snapshot.Latencies is ExitLatencies latencies)
            AddLatencies(families, latencies, snapshot.Guests);
        // Gone VMs' warnings go with them.
        _binary.Forget(pid => snapshot.Binary?.Any(vm => vm.Pid == pid) == true);
        return families;
    }

    private static void AddHost(List<MetricFamily> families, IFieldValues host)
    {
        ReadOnlySpan<long> totals = host.Totals;
        FieldSet fields = host.Fields;
        if (fields.Count == 0)
            return;
        var events = new MetricFamily("kvm_events", "counter", "KVM tracepoint events on all CPUs since kvm_stat started.");
        var reasons = new MetricFamily("kvm_event_reasons", "counter", "KVM tracepoint events by exit reason.");
        var debugfs = new List<MetricFamily>();
        foreach (int i in fields.ByName)
        {
            StatField field = fields[i];
            switch (field.Origin)
            {
                case FieldOrigin.Tracepoint when fields.IsChild(i):
                    reasons.Counter([("event", fields[fields.ParentOf(i)].Name), ("reason", field.ChildLabel)], totals[i]);
                    break;
                case FieldOrigin.Tracepoint:
                    events.Counter([("event", field.Name)], totals[i]);
                    break;
                case FieldOrigin.Debugfs:
                    bool counter = field.Kind == StatKind.Counter;
                    var family = new MetricFamily("kvm_debugfs_" + field.Name, counter ? "counter" : "gauge",
                        $"KVM debugfs statistic {field.Name}, all VMs{(counter ? " (counted since kvm_stat started)" : "")}.");
                    if (counter)
                        family.Counter([], totals[i]);
                    else
                        family.Gauge([], totals[i]);
                    debugfs.Add(family);
                    break;
            }
        }
        families.Add(events);
        families.Add(reasons);
        families.AddRange(debugfs);
    }

    private bool[] _guestShown = [];
    private FieldSet? _guestShownFor;

    /// <summary>
    /// A guest's (or one of its vCPUs') count of field <paramref name="i"/>: an event in
    /// <paramref name="events"/> {OWNER, event}, an exit reason in <paramref name="reasons"/>
    /// {OWNER, event, reason} (a reason's exits are its tracepoint's events again); a child whose
    /// parent is not in the set is neither.
    /// </summary>
    internal static void AddCount(MetricFamily events, MetricFamily reasons, FieldSet fields, int i, (string Name, string Value)[] owner, long value)
    {
        if (fields.IsChild(i))
        {
            if (fields[i].Origin == FieldOrigin.Tracepoint)
                reasons.Counter([.. owner, ("event", fields[fields.ParentOf(i)].Name), ("reason", fields[i].ChildLabel)], value);
        }
        else if (!fields[i].IsChild)
        {
            events.Counter([.. owner, ("event", fields[i].Name)], value);
        }
    }

    private void AddGuests(List<MetricFamily> families, IGuestValues guests)
    {
        FieldSet fields = guests.Fields;
        // Which fields get per-guest series (--guest-fields), decided once per field set.
        if (!ReferenceEquals(_guestShownFor, fields))
        {
            _guestShownFor = fields;
            _guestShown = guestFilter?.KeepsEach(fields) ?? [.. fields.All.Select(_ => true)];
        }
        var family = new MetricFamily("kvm_guest_events", "counter",
            "KVM tracepoint events of each VM (every thread of its process) since it was first seen.");
        var reasons = new MetricFamily("kvm_guest_event_reasons", "counter",
            "KVM tracepoint events of each VM by exit reason (kvm_exit, kvm_userspace_exit) since it was first seen.");
        // One series per running VM, idle ones too: what a guest picker or a count of guests needs.
        var info = new MetricFamily("kvm_guest_info", "gauge", "1 for each running VM kvm_stat sees, with its name and pid.");
        foreach (GuestStat guest in guests.Guests)
        {
            string pid = guest.Pid.ToString(CultureInfo.InvariantCulture);
            (string, string)[] owner = [("guest", guest.Name), ("pid", pid)];
            info.Add("", owner, "1");
            foreach (int i in fields.ByName)
            {
                if (fields[i].Kind != StatKind.Counter || !_guestShown[i])
                    continue;
                // Counted from the process's first event: a new process under a dead VM's pid starts from zero.
                long value = guest.FieldTotals[i];
                // Series only for the events a VM raised: thousands of VMs times a hundred tracepoints
                // would be mostly zeros. A series appears with its first event (Prometheus reads a new
                // counter's first sample as its increase).
                if (value != 0)
                    AddCount(family, reasons, fields, i, owner, value);
            }
        }
        families.Add(info);
        families.Add(family);
        families.Add(reasons);
        var leftOut = new MetricFamily("kvm_stat_vms_left_out", "gauge",
            "Running VMs kvm_stat cannot count per VM (with perf counters: their counters could not open, see the log); their events are in kvm_events_total. Nonzero means guests are missing.");
        leftOut.Add("", [], guests.VmsLeftOut.ToString(CultureInfo.InvariantCulture));
        families.Add(leftOut);
        var which = new MetricFamily("kvm_guest_left_out", "gauge",
            "1 for each running VM kvm_stat cannot count per VM (counted in kvm_stat_vms_left_out), with its name and pid; its events are in kvm_events_total.");
        foreach ((int pid, string name) in guests.LeftOut)
            which.Gauge([("guest", name), ("pid", pid.ToString(CultureInfo.InvariantCulture))], 1);
        families.Add(which);
        AddOthers(families, guests);
    }

    /// <summary>
    /// The events no running VM raised (the per-VM source's rows that are no VM, or none with debugfs
    /// alone), so that the guests and these add up to kvm_events_total at every scrape.
    /// </summary>
    private static void AddOthers(List<MetricFamily> families, IGuestValues guests)
    {
        if (guests.Others.Count == 0)
            return;
        FieldSet fields = guests.Fields;
        var outside = new MetricFamily("kvm_events_outside_vms", "counter",
            "KVM tracepoint events of processes that run no VM (kernel threads ageing guest memory, other processes) since kvm_stat started; with perf counters the host's events beyond the VMs' counters, those of VMs left out included.");
        var exited = new MetricFamily("kvm_events_exited_vms", "counter",
            "KVM tracepoint events of VMs that exited since kvm_stat started, from their first event to their last.");
        // Only an engine that can fail to give an event to a process (BPF: its table full) has the row:
        // perf counters count each VM's own threads, and a family of zeros would say a check that is not made.
        bool attributes = false;
        for (int o = 0; o < guests.Others.Count; o++)
            attributes |= guests.Others[o].Kind == VmRowKind.Unattributed;
        MetricFamily? unattributed = attributes ? new MetricFamily("kvm_stat_unattributed_events", "counter",
            "KVM tracepoint events kvm_stat could not give to a process since it started: its table of processes was full. Nonzero means per-guest counts are missing events.") : null;
        foreach (int i in fields.ByName)
        {
            if (fields[i].IsChild || fields[i].Kind != StatKind.Counter)
                continue;
            long notVms = 0, gone = 0, lost = 0;
            foreach (GuestStat other in guests.Others)
            {
                switch (other.Kind)
                {
                    case VmRowKind.Unattributed:
                        lost += other.FieldTotals[i];
                        break;
                    case VmRowKind.ExitedVms:
                        gone += other.FieldTotals[i];
                        break;
                    default:
                        notVms += other.FieldTotals[i];
                        break;
                }
            }
            outside.Counter([("event", fields[i].Name)], notVms);
            exited.Counter([("event", fields[i].Name)], gone);
            unattributed?.Counter([("event", fields[i].Name)], lost);
        }
        families.Add(outside);
        families.Add(exited);
        if (unattributed is not null)
            families.Add(unattributed);
    }

    /// <summary>
    /// The log2 buckets served: 2^8 ns (256 ns) to 2^31 ns (about 2.1 s), and +Inf. Exits handled in
    /// the kernel often take 300 ns to 1 µs (an MSR write, an external interrupt): a first bound of
    /// 1 µs would put them all in one bucket. Longer than 2 s is +Inf: a bound more would be a
    /// series more for every guest and reason.
    /// </summary>
    private const int FirstServedBucket = 7, LastServedBucket = 30;

    /// <summary>The served buckets' upper bounds in seconds, written once.</summary>
    private static readonly string[] s_latencyBounds = [.. Enumerable.Range(FirstServedBucket, LastServedBucket - FirstServedBucket + 1)
        .Select(i => BaseUnits.Float(ExitLatencies.BucketHigh(i) / 1e9))];

    private bool[] _guestReasons = [];
    private ExitLatencies? _guestReasonsFor;

    /// <summary>
    /// Exit latencies as histograms in seconds: kvm_exit_handling_seconds{event,reason} for the host,
    /// kvm_guest_exit_handling_seconds{guest,pid,event,reason} for each VM, only for reasons that
    /// were timed (each VM's only for the reasons --guest-fields matches); and how many exits could not be.
    /// </summary>
    private void AddLatencies(List<MetricFamily> families, ExitLatencies latencies, IGuestValues? guests)
    {
        if (!ReferenceEquals(_guestReasonsFor, latencies))
        {
            _guestReasonsFor = latencies;
            _guestReasons = guestFilter?.KeepsEach(latencies.Fields) ?? [.. latencies.Fields.All.Select(_ => true)];
        }
        const string How = "Seconds an exit kept a vCPU out of its guest, by exit reason: handled in user space (kvm_userspace_exit) or in the kernel (kvm_exit), until the vCPU's next entry";
        var host = new MetricFamily("kvm_exit_handling_seconds", "histogram", $"{How} ({latencies.Entry}), every process.");
        AddHistograms(host, latencies, latencies.Host, [], null);
        families.Add(host);
        var perGuest = new MetricFamily("kvm_guest_exit_handling_seconds", "histogram", $"{How} ({latencies.Entry}), each VM.");
        foreach (GuestStat guest in guests?.Guests ?? [])
        {
            if (latencies.Vms.TryGetValue(guest.Pid, out Dictionary<int, LatencyHistogram>? histograms))
                AddHistograms(perGuest, latencies, histograms, [("guest", guest.Name), ("pid", guest.Pid.ToString(CultureInfo.InvariantCulture))], _guestReasons);
        }
        families.Add(perGuest);
        var lost = new MetricFamily("kvm_stat_exit_latency_lost", "counter", "Exits whose time could not be kept: the table of latency buckets was full.");
        lost.Counter([], latencies.Lost);
        families.Add(lost);
    }

    private static void AddHistograms(MetricFamily family, ExitLatencies latencies, Dictionary<int, LatencyHistogram> histograms, (string, string)[] labels, bool[]? shown)
    {
        // In the fields' name order, kept once: sorting each VM's would allocate thousands of times a scrape.
        foreach (int field in latencies.Fields.ByName)
        {
            if (shown?[field] == false || !histograms.TryGetValue(field, out LatencyHistogram? histogram) || histogram.Buckets.AsSpan().IndexOfAnyExcept(0UL) < 0)
                continue;
            StatField reason = latencies.Fields[field];
            int kind = latencies.KindOf(field);
            AddHistogram(family, [.. labels, ("event", kind >= 0 ? ExitLatencies.Kinds[kind] : reason.Name), ("reason", reason.ChildLabel)], histogram);
        }
    }

    /// <summary>One histogram of exit latencies in seconds: its log2 buckets from 256 ns to 2.1 s, +Inf, its exact sum and its count.</summary>
    internal static void AddHistogram(MetricFamily family, (string, string)[] series, LatencyHistogram histogram) =>
        // Divided, not multiplied by 1e-9 (inexact): whole nanoseconds print as such, 0.100096599 not 0.10009659900000001.
        family.Histogram(series, s_latencyBounds, histogram.Buckets, FirstServedBucket, BaseUnits.Float(histogram.Nanoseconds / 1e9));

    /// <summary>Binary statistics as they are (cumulative since each VM started): one family per statistic, what one VM says costing that VM only.</summary>
    private void AddBinary(List<MetricFamily> families, IReadOnlyList<VmStatsBlocks> vms) => _binary.Add(families, vms);

}
