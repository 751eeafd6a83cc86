using System.Diagnostics;
using System.Globalization;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Output.Metrics;

/// <summary>
/// What the exporter serves, sampled when scraped (at most twice a second, however many scrapers):
/// <list type="bullet">
/// <item>kvm_events_total{event} and kvm_event_reasons_total{event,reason}: tracepoints on all CPUs;</item>
/// <item>kvm_guest_events_total{guest,pid,event}: tracepoints on every thread of each VM;</item>
/// <item>kvm_debugfs_NAME: debugfs statistics;</item>
/// <item>kvm_vm_NAME{guest,pid} and kvm_vcpu_NAME{guest,pid,vcpu}: binary statistics, cumulative
/// ones as counters, instant and peak ones as gauges, histograms as histograms.</item>
/// </list>
/// A counter never goes backwards for the same label set while the tool runs: if a series starts
/// again from zero (a VM restarted with a reused pid), the last value is carried into it.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    private static readonly TimeSpan s_reuse = TimeSpan.FromMilliseconds(500);

    private readonly object _lock = new();
    private readonly StatsCollector? _host;
    private readonly GuestStats? _guests;
    private readonly IVmStatsReader? _binary;
    private readonly FieldFilter _filter;
    private readonly Func<int, string?> _nameOf;
    private readonly Dictionary<string, (long Last, long Offset)> _monotonic = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _names = [];
    private readonly List<VmStatsBlocks> _vms = [];
    private long _sampledAt;
    private string? _text;
    private string? _openMetrics;

    private readonly Timer _follower;

    internal MetricsCollector(StatsCollector? host, GuestStats? guests, IVmStatsReader? binary, FieldFilter filter, Func<int, string?> nameOf)
    {
        _host = host;
        _guests = guests;
        _binary = binary;
        _filter = filter;
        _nameOf = nameOf;
        _host?.Sample();
        _guests?.Sample();
        // VMs that start between scrapes are found within a second, so their counters start early
        // (a scrape interval of a minute would otherwise lose the VM's first minute).
        _follower = new Timer(_ => Follow(), null, s_follow, s_follow);
    }

    private static readonly TimeSpan s_follow = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Looks for new VMs (and their threads) between scrapes. Only the per-guest tracepoint
    /// counters need it: binary statistics count from each VM's start, and a QMP query each
    /// second would interrupt the vCPUs of a QEMU older than 8.1.
    /// </summary>
    private void Follow()
    {
        lock (_lock)
            _guests?.Sample();
    }

    private void SampleNow()
    {
        _host?.Sample();
        _guests?.Sample();
        _binary?.Read(_vms);
        ForgetNamesOfGoneVms();
        _sampledAt = Stopwatch.GetTimestamp();
        _text = null;
        _openMetrics = null;
    }

    /// <summary>The exposition in the asked format, and its content type.</summary>
    internal (string Body, string ContentType) Scrape(bool openMetrics)
    {
        lock (_lock)
        {
            if (_sampledAt == 0 || Stopwatch.GetElapsedTime(_sampledAt) > s_reuse)
                SampleNow();
            var writer = new MetricsWriter(openMetrics);
            string body = openMetrics ? _openMetrics ??= Render(writer) : _text ??= Render(writer);
            return (body, writer.ContentType);
        }
    }

    private string Render(MetricsWriter w)
    {
        if (_host is not null)
            WriteHost(w, _host);
        if (_guests is not null)
            WriteGuests(w, _guests);
        if (_binary is not null)
            WriteBinary(w);
        return w.Finish();
    }

    private static void WriteHost(MetricsWriter w, StatsCollector host)
    {
        ReadOnlySpan<long> totals = host.Totals;
        int[] order = host.ByName;
        w.Family("kvm_events", "counter", "KVM tracepoint events on all CPUs since kvm_stat started.");
        foreach (int i in order)
        {
            if (host.SourceOf(i).Name == "tracepoints" && !host.Fields[i].IsChild)
                w.Counter([("event", host.Fields[i].Name)], totals[i]);
        }
        w.Family("kvm_event_reasons", "counter", "KVM tracepoint events by exit reason, counted with kernel-side filters.");
        foreach (int i in order)
        {
            StatField field = host.Fields[i];
            if (host.SourceOf(i).Name == "tracepoints" && field.IsChild)
                w.Counter([("event", field.Parent!), ("reason", field.ChildLabel)], totals[i]);
        }
        foreach (int i in order)
        {
            StatField field = host.Fields[i];
            if (host.SourceOf(i).Name != "debugfs")
                continue;
            bool counter = field.Kind == StatKind.Counter;
            w.Family("kvm_debugfs_" + field.Name, counter ? "counter" : "gauge",
                $"KVM debugfs statistic {field.Name}, all VMs{(counter ? " (counted since kvm_stat started)" : "")}.");
            if (counter)
                w.Counter([], totals[i]);
            else
                w.Gauge([], totals[i]);
        }
    }

    private void WriteGuests(MetricsWriter w, GuestStats guests)
    {
        w.Family("kvm_guest_events", "counter", "KVM tracepoint events of each VM (counters on every thread of its process) since it was first seen.");
        foreach (GuestStat guest in guests.Guests)
        {
            string pid = guest.Pid.ToString(CultureInfo.InvariantCulture);
            for (int i = 0; i < guests.Fields.Count; i++)
            {
                if (guests.Fields[i].IsChild || guests.Fields[i].Kind != StatKind.Counter)
                    continue;
                string key = $"kvm_guest_events\0{guest.Name}\0{pid}\0{guests.Fields[i].Name}";
                w.Counter([("guest", guest.Name), ("pid", pid), ("event", guests.Fields[i].Name)], Monotonic(key, guest.FieldTotals[i]));
            }
        }
    }

    /// <summary>Binary statistics as they are (cumulative since each VM started): one family per statistic.</summary>
    private void WriteBinary(MetricsWriter w)
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
            WriteStatistic(w, "kvm_vm_", name, template, vcpus: false);
        foreach ((string name, KvmStatDescriptor template) in vcpuStats)
            WriteStatistic(w, "kvm_vcpu_", name, template, vcpus: true);
    }

    private void WriteStatistic(MetricsWriter w, string prefix, string name, KvmStatDescriptor template, bool vcpus)
    {
        string of = vcpus ? "each vCPU" : "each VM";
        string? unit = HistogramPercentiles.RawUnit(template);
        string help = $"KVM binary statistic {name} of {of} ({template.Type.ToString().ToLowerInvariant()}{(unit is null ? "" : ", " + unit)}).";
        if (template.IsHistogram)
        {
            (string suffix, double scale) = template.Unit switch
            {
                KvmStatUnit.Seconds => ("_seconds", template.Scale),
                KvmStatUnit.Bytes => ("_bytes", template.Scale),
                _ => ("", template.Scale),
            };
            w.Family(prefix + name + suffix, "histogram", help + " Buckets from KVM's histogram, in base units.");
        }
        else
        {
            w.Family(prefix + BaseUnitName(name, template), template.Type == KvmStatType.Cumulative ? "counter" : "gauge", help);
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
                    WriteHistogram(w, descriptor, labels, values);
                else if (descriptor.Type == KvmStatType.Cumulative)
                    w.Sample("_total", labels, InBaseUnit(descriptor, Monotonic($"{prefix}{name}\0{guest}\0{pid}\0{block.VcpuIndex}", (long)values[0])));
                else
                    w.Sample("", labels, InBaseUnit(descriptor, (long)values[0]));
            }
        }
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

    private static void WriteHistogram(MetricsWriter w, KvmStatDescriptor descriptor, (string, string)[] labels, ReadOnlySpan<ulong> buckets)
    {
        (string, string)[] withLe = [.. labels, ("le", "")];
        ulong cumulative = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            cumulative += buckets[i];
            double upper = i == buckets.Length - 1 ? double.PositiveInfinity : descriptor.BucketHigh(i) * descriptor.Scale;
            withLe[^1] = ("le", MetricsWriter.Float(upper));
            w.Sample("_bucket", withLe, cumulative.ToString(CultureInfo.InvariantCulture));
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
        foreach (int pid in _names.Keys.ToList())
        {
            if (!_vms.Exists(vm => vm.Pid == pid))
                _names.Remove(pid);
        }
    }

    private string NameOf(int pid)
    {
        if (!_names.TryGetValue(pid, out string? name))
            _names[pid] = name = _nameOf(pid) ?? "";
        return name;
    }

    /// <summary>Carries a series' last value into it when it starts again from zero.</summary>
    private long Monotonic(string key, long value)
    {
        if (!_monotonic.TryGetValue(key, out (long Last, long Offset) state))
        {
            _monotonic[key] = (value, 0);
            return value;
        }
        if (value < state.Last)
            state.Offset += state.Last;
        state.Last = value;
        _monotonic[key] = state;
        return value + state.Offset;
    }

    public void Dispose()
    {
        _follower.Dispose();
        _host?.Dispose();
        _guests?.Dispose();
        _binary?.Dispose();
    }
}
