using System.Globalization;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Exporter;

/// <summary>
/// What the exporter serves, sampled when scraped (at most twice a second, however many scrapers
/// ask) into metric families:
/// <list type="bullet">
/// <item>kvm_events_total{event} and kvm_event_reasons_total{event,reason}: tracepoint fields of the host;</item>
/// <item>kvm_guest_events_total{guest,pid,event}: tracepoint fields of each VM;</item>
/// <item>kvm_debugfs_NAME: debugfs statistics;</item>
/// <item>kvm_vm_NAME{guest,pid} and kvm_vcpu_NAME{guest,pid,vcpu}: binary statistics, cumulative
/// ones as counters, instant and peak ones as gauges, histograms as histograms.</item>
/// </list>
/// Which family a field goes to is its <see cref="FieldOrigin"/>. A VM's counter series does not
/// go backwards when the VM restarts under the same pid (<see cref="SeriesContinuity"/>).
/// </summary>
internal sealed class MetricsSampler : IDisposable
{
    private static readonly TimeSpan s_reuse = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_follow = TimeSpan.FromSeconds(1);

    private readonly object _lock = new();
    private readonly StatsCollector? _host;
    private readonly GuestStats? _guests;
    private readonly IVmStatsReader? _binary;
    private readonly FieldFilter _filter;
    private readonly Func<int, string?> _nameOf;
    private readonly TimeProvider _time;
    private readonly SeriesContinuity _continuity;
    private readonly Dictionary<int, string> _names = [];
    private readonly List<VmStatsBlocks> _vms = [];
    private readonly ITimer? _follower;
    private readonly ICapture? _capture;
    private readonly ExporterIdentity? _self;
    private readonly List<SourceHealth> _health = [];
    private readonly SourceHealth[] _openedSources;
    private long _sampledAt;
    private IReadOnlyList<MetricFamily> _families = [];

    /// <param name="followVms">
    /// Look for new VMs every second between scrapes: per-thread counters count a VM only from when
    /// they are opened, and a scrape interval of a minute would otherwise lose its first minute.
    /// Binary statistics count from each VM's start, and a QMP query each second would interrupt
    /// the vCPUs of a QEMU older than 8.1: they are read only when scraped.
    /// </param>
    /// <param name="capture">The reading the host and guest sources share (the BPF engine's), taken first at each sample.</param>
    /// <param name="self">The exporter's own metrics (process_*, build information, scrape duration, sources up), with what they name.</param>
    internal MetricsSampler(
        StatsCollector? host, GuestStats? guests, IVmStatsReader? binary, FieldFilter filter, Func<int, string?> nameOf, TimeProvider time,
        bool followVms, ICapture? capture = null, ExporterIdentity? self = null)
    {
        _capture = capture;
        _self = self;
        _host = host;
        _guests = guests;
        _binary = binary;
        _filter = filter;
        _nameOf = nameOf;
        _time = time;
        _continuity = new SeriesContinuity(time);
        _openedSources = OpenedSources(host, guests);
        _capture?.Capture();
        _host?.Sample();
        _guests?.Sample();
        if (followVms && _guests is not null)
            _follower = time.CreateTimer(_ => Follow(), null, s_follow, s_follow);
    }

    /// <summary>Counts the samples taken, so that a formatted exposition can be reused until the next.</summary>
    internal int SampleNumber { get; private set; }

    private void Follow()
    {
        lock (_lock)
            _guests?.Sample();
    }

    /// <summary>The families of a sample at most half a second old; scrapes within that time share one.</summary>
    internal (IReadOnlyList<MetricFamily> Families, int SampleNumber) Current()
    {
        lock (_lock)
        {
            if (SampleNumber == 0 || _time.GetElapsedTime(_sampledAt) > s_reuse)
                Sample();
            return (_families, SampleNumber);
        }
    }

    private void Sample()
    {
        long started = _time.GetTimestamp();
        _capture?.Capture();
        _host?.Sample();
        _guests?.Sample();
        _binary?.Read(_vms);
        ForgetNamesOfGoneVms();
        _continuity.BeginSample();
        var families = new List<MetricFamily>();
        if (_host is not null)
            AddHost(families, _host);
        if (_guests is not null)
            AddGuests(families, _guests);
        if (_binary is not null)
            AddBinary(families);
        _continuity.EndSample();
        if (_self is not null)
            AddSelf(families, _self, _time.GetElapsedTime(started));
        _families = families;
        _sampledAt = _time.GetTimestamp();
        SampleNumber++;
    }

    /// <summary>What the exporter costs, what it is, how long the sample took, and which sources work.</summary>
    private void AddSelf(List<MetricFamily> families, ExporterIdentity self, TimeSpan took)
    {
        ProcessMetrics.Add(families);
        var build = new MetricFamily("kvm_stat_build_info", "gauge", "kvm_stat's version, runtime and architecture, and the engine that counts tracepoints; always 1.");
        build.Gauge([("version", self.Version), ("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription),
            ("arch", System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()), ("engine", self.Engine)], 1);
        families.Add(build);
        var duration = new MetricFamily("kvm_stat_scrape_duration_seconds", "gauge",
            "Seconds the sample of every source for this scrape took (scrapes within half a second share one sample).");
        duration.Add("", [], MetricsWriter.Float(took.TotalSeconds));
        families.Add(duration);

        _health.Clear();
        _health.AddRange(_openedSources);
        _binary?.ReportHealth(_health);
        if (self.Unopened is { } unopened)
            _health.AddRange(unopened);
        var up = new MetricFamily("kvm_stat_source_up", "gauge",
            "1 when a source (a QMP socket: target) could be read at the last sample, 0 when not, with the reason.");
        foreach (SourceHealth health in _health)
            up.Gauge([("source", health.Source), ("target", health.Target), ("reason", health.Problem ?? "")], health.Up ? 1 : 0);
        families.Add(up);
    }

    /// <summary>The tracepoints and debugfs, when they were opened: once open, they stay readable.</summary>
    private static SourceHealth[] OpenedSources(StatsCollector? host, GuestStats? guests)
    {
        var opened = new List<SourceHealth>(2);
        if (guests is not null || host?.Fields.Any(f => f.Origin == FieldOrigin.Tracepoint) == true)
            opened.Add(new SourceHealth("tracepoints", "", null));
        if (host?.Fields.Any(f => f.Origin == FieldOrigin.Debugfs) == true)
            opened.Add(new SourceHealth("debugfs", "", null));
        return [.. opened];
    }

    private static void AddHost(List<MetricFamily> families, StatsCollector host)
    {
        ReadOnlySpan<long> totals = host.Totals;
        var events = new MetricFamily("kvm_events", "counter", "KVM tracepoint events on all CPUs since kvm_stat started.");
        var reasons = new MetricFamily("kvm_event_reasons", "counter", "KVM tracepoint events by exit reason, counted with kernel-side filters.");
        var debugfs = new List<MetricFamily>();
        foreach (int i in host.ByName)
        {
            StatField field = host.Fields[i];
            switch (field.Origin)
            {
                case FieldOrigin.Tracepoint when field.IsChild:
                    reasons.Counter([("event", field.Parent!), ("reason", field.ChildLabel)], totals[i]);
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

    private void AddGuests(List<MetricFamily> families, GuestStats guests)
    {
        var family = new MetricFamily("kvm_guest_events", "counter",
            "KVM tracepoint events of each VM (counters on every thread of its process) since it was first seen.");
        foreach (GuestStat guest in guests.Guests)
        {
            string pid = guest.Pid.ToString(CultureInfo.InvariantCulture);
            for (int i = 0; i < guests.Fields.Count; i++)
            {
                if (guests.Fields[i].IsChild || guests.Fields[i].Kind != StatKind.Counter)
                    continue;
                string name = guests.Fields[i].Name;
                long value = _continuity.Monotonic(guest.Pid, guest.Name, "kvm_guest_events", name, -1, guest.FieldTotals[i]);
                family.Counter([("guest", guest.Name), ("pid", pid), ("event", name)], value);
            }
        }
        families.Add(family);
        // With the BPF engine: the events no running VM raised (outside VMs, and VMs that exited),
        // so that the guests and these add up to kvm_events_total at every scrape.
        if (guests.Others.Count == 0)
            return;
        var outside = new MetricFamily("kvm_events_outside_vms", "counter",
            "KVM tracepoint events not raised by a running VM (kernel threads ageing guest memory, other processes, VMs that exited) since kvm_stat started.");
        for (int i = 0; i < guests.Fields.Count; i++)
        {
            if (guests.Fields[i].IsChild || guests.Fields[i].Kind != StatKind.Counter)
                continue;
            long sum = 0;
            foreach (GuestStat other in guests.Others)
                sum += other.FieldTotals[i];
            outside.Counter([("event", guests.Fields[i].Name)], sum);
        }
        families.Add(outside);
    }

    /// <summary>Binary statistics as they are (cumulative since each VM started): one family per statistic.</summary>
    private void AddBinary(List<MetricFamily> families)
    {
        var vmStats = new SortedDictionary<string, KvmStatDescriptor>(StringComparer.Ordinal);
        var vcpuStats = new SortedDictionary<string, KvmStatDescriptor>(StringComparer.Ordinal);
        foreach (VmStatsBlocks vm in _vms)
        {
            foreach (IStatsBlock block in vm.Blocks)
            {
                foreach (KvmStatDescriptor d in block.Descriptors)
                {
                    if (_filter.Matches(d.Name))
                        (block.VcpuIndex < 0 ? vmStats : vcpuStats).TryAdd(d.Name, d);
                }
            }
        }
        foreach ((string name, KvmStatDescriptor template) in vmStats)
            families.Add(Statistic("kvm_vm_", name, template, vcpus: false));
        foreach ((string name, KvmStatDescriptor template) in vcpuStats)
            families.Add(Statistic("kvm_vcpu_", name, template, vcpus: true));
    }

    private MetricFamily Statistic(string prefix, string name, KvmStatDescriptor template, bool vcpus)
    {
        string of = vcpus ? "each vCPU" : "each VM";
        string? unit = HistogramPercentiles.RawUnit(template);
        string help = $"KVM binary statistic {name} of {of} ({template.Type.ToString().ToLowerInvariant()}{(unit is null ? "" : ", " + unit)}).";
        MetricFamily family;
        if (template.IsHistogram)
        {
            string suffix = template.Unit switch
            {
                KvmStatUnit.Seconds => "_seconds",
                KvmStatUnit.Bytes => "_bytes",
                _ => "",
            };
            family = new MetricFamily(prefix + name + suffix, "histogram", help + " Buckets from KVM's histogram, in base units.");
        }
        else
        {
            family = new MetricFamily(prefix + BaseUnitName(name, template), template.Type == KvmStatType.Cumulative ? "counter" : "gauge", help);
        }

        foreach (VmStatsBlocks vm in _vms)
        {
            string guest = NameOf(vm.Pid);
            string pid = vm.Pid.ToString(CultureInfo.InvariantCulture);
            foreach (IStatsBlock block in vm.Blocks)
            {
                if ((block.VcpuIndex >= 0) != vcpus)
                    continue;
                KvmStatDescriptor? descriptor = Find(block, name);
                if (descriptor is null)
                    continue;
                ReadOnlySpan<ulong> values = block.Values(descriptor);
                (string, string)[] labels = vcpus
                    ? [("guest", guest), ("pid", pid), ("vcpu", block.VcpuIndex.ToString(CultureInfo.InvariantCulture))]
                    : [("guest", guest), ("pid", pid)];
                if (descriptor.IsHistogram)
                    AddHistogram(family, descriptor, labels, values);
                else if (descriptor.Type == KvmStatType.Cumulative)
                    family.Add("_total", labels, InBaseUnit(descriptor, _continuity.Monotonic(vm.Pid, guest, prefix, name, block.VcpuIndex, (long)values[0])));
                else
                    family.Add("", labels, InBaseUnit(descriptor, (long)values[0]));
            }
        }
        return family;
    }

    /// <summary>
    /// Prometheus wants base units in names and values: halt_wait_ns (seconds × 10^-9) becomes
    /// halt_wait_seconds, in seconds.
    /// </summary>
    internal static string BaseUnitName(string name, KvmStatDescriptor descriptor)
    {
        switch (descriptor.Unit)
        {
            case KvmStatUnit.Seconds:
                foreach (string abbreviation in new[] { "_ns", "_us", "_ms", "_s" })
                {
                    if (name.EndsWith(abbreviation, StringComparison.Ordinal))
                        return name[..^abbreviation.Length] + "_seconds";
                }
                return name.EndsWith("_seconds", StringComparison.Ordinal) ? name : name + "_seconds";
            case KvmStatUnit.Bytes:
                return name.EndsWith("_bytes", StringComparison.Ordinal) ? name : name + "_bytes";
            default:
                return name;
        }
    }

    private static string InBaseUnit(KvmStatDescriptor descriptor, long raw) =>
        descriptor.Unit is KvmStatUnit.Seconds or KvmStatUnit.Bytes && descriptor.Scale != 1
            ? MetricsWriter.Float(raw * descriptor.Scale)
            : raw.ToString(CultureInfo.InvariantCulture);

    private static void AddHistogram(MetricFamily family, KvmStatDescriptor descriptor, (string, string)[] labels, ReadOnlySpan<ulong> buckets)
    {
        ulong cumulative = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            cumulative += buckets[i];
            double upper = i == buckets.Length - 1 ? double.PositiveInfinity : descriptor.BucketHigh(i) * descriptor.Scale;
            family.Add("_bucket", [.. labels, ("le", MetricsWriter.Float(upper))], cumulative.ToString(CultureInfo.InvariantCulture));
        }
        // No _count: KVM histograms have no sum, and OpenMetrics allows _count only with _sum.
        // The +Inf bucket is the count.
    }

    private static KvmStatDescriptor? Find(IStatsBlock block, string name)
    {
        foreach (KvmStatDescriptor d in block.Descriptors)
        {
            if (d.Name == name)
                return d;
        }
        return null;
    }

    private void ForgetNamesOfGoneVms()
    {
        foreach (int pid in _names.Keys)
        {
            if (!_vms.Exists(vm => vm.Pid == pid))
                _names.Remove(pid);
        }
    }

    /// <summary>VMs whose names or series continuity are kept (for tests of what stays bounded).</summary>
    internal (int Names, int Series) TrackedVms
    {
        get
        {
            lock (_lock)
                return (_names.Count, _continuity.TrackedVms);
        }
    }

    private string NameOf(int pid)
    {
        if (!_names.TryGetValue(pid, out string? name))
            _names[pid] = name = _nameOf(pid) ?? "";
        return name;
    }

    public void Dispose()
    {
        _follower?.Dispose();
        lock (_lock)
        {
            _host?.Dispose();
            _guests?.Dispose();
            _binary?.Dispose();
        }
    }
}
