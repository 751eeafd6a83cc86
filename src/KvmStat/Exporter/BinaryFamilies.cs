using System.Globalization;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Exporter;

/// <summary>
/// Binary statistics as metric families: kvm_vm_NAME{guest,pid} and kvm_vcpu_NAME{guest,pid,vcpu}
/// in base units. Each VM's descriptors come from whoever runs that VM (a QMP peer says what it
/// likes), so what one VM says costs that VM only:
/// <list type="bullet">
/// <item>a statistic's type, unit and size (and so its exported name and type) are those most VMs
/// agree on (descriptors read from the kernel first, then the number of VMs, then what was in force
/// at the last scrape); a VM that differs on any statistic, or whose name would take another
/// family's, has none of its statistics served;</item>
/// <item>a VM adds at most <see cref="MaxSeriesPerVm"/> series and <see cref="MaxBytesPerVm"/>
/// bytes: the rest of it is left out.</item>
/// </list>
/// Either is counted in kvm_stat_vm_series_dropped{guest,pid,reason} and said in one log line per VM.
/// </summary>
internal sealed class BinaryFamilies(FieldFilter filter, Action<string> warn,
    int maxSeries = BinaryFamilies.MaxSeriesPerVm, int maxBytes = BinaryFamilies.MaxBytesPerVm)
{
    /// <summary>A vCPU has about 150 series (some 50 statistics, 3 histograms of 32 buckets): room for a VM of 256 vCPUs.</summary>
    internal const int MaxSeriesPerVm = 40_000;

    /// <summary>About 100 bytes a series: 4 MiB.</summary>
    internal const int MaxBytesPerVm = 4 << 20;

    private readonly record struct Definition(bool Vcpu, string Name, KvmStatType Type, KvmStatUnit Unit, int Base, int Exponent, int Size, int BucketSize);

    private sealed class Claim(KvmStatDescriptor template)
    {
        internal KvmStatDescriptor Template { get; } = template;
        internal HashSet<int> Pids { get; } = [];
        internal bool FromKernel { get; set; }
    }

    private Dictionary<(bool, string), Definition> _inForce = [];
    private readonly HashSet<(int Pid, bool Conflict)> _warned = [];

    /// <summary>Forgets the log lines said for VMs that are gone.</summary>
    internal void Forget(Func<int, bool> running) => _warned.RemoveWhere(w => !running(w.Pid));

    internal void Add(List<MetricFamily> families, IReadOnlyList<VmStatsBlocks> vms)
    {
        Dictionary<Definition, Claim> claims = Claims(vms);
        (Dictionary<(bool, string), Definition> accepted, Dictionary<int, string> conflicts) = Resolve(claims);
        _inForce = accepted;
        var built = new Dictionary<Definition, MetricFamily>();
        var dropped = new MetricFamily("kvm_stat_vm_series_dropped", "gauge",
            "Series of a VM's binary statistics left out of this scrape: a statistic that differs from other VMs', or more than one VM may add.");
        foreach (VmStatsBlocks vm in vms)
        {
            string guest = vm.Name ?? "";
            string pid = vm.Pid.ToString(CultureInfo.InvariantCulture);
            int series = 0, bytes = 0, left = 0;
            foreach (IStatsBlock block in vm.Blocks)
            {
                foreach (KvmStatDescriptor d in block.Descriptors)
                {
                    if (!filter.Matches(d.Name))
                        continue;
                    int count = d.IsHistogram ? block.Values(d).Length : 1;
                    bool vcpu = block.VcpuIndex >= 0;
                    string family = FamilyName(d, vcpu);
                    // The text a series takes, at most: name, suffix, labels (values cut at 256), value.
                    int size = count * (family.Length + 40 + Math.Min(guest.Length, MetricsWriter.MaxLabelValue) + pid.Length + (vcpu ? 16 : 0) + (d.IsHistogram ? 32 : 0));
                    if (conflicts.ContainsKey(vm.Pid) || left > 0 || series + count > maxSeries || bytes + size > maxBytes)
                    {
                        left += count;
                        continue;
                    }
                    series += count;
                    bytes += size;
                    Definition definition = accepted[(vcpu, d.Name)];
                    if (!built.TryGetValue(definition, out MetricFamily? target))
                        built[definition] = target = NewFamily(claims[definition].Template, vcpu);
                    AddSeries(target, guest, pid, block, d);
                }
            }
            if (left == 0)
                continue;
            bool conflict = conflicts.TryGetValue(vm.Pid, out string? statistic);
            string reason = conflict
                ? $"its statistic {statistic} differs in type, unit or size from other VMs'"
                : $"more than {maxSeries} series or {maxBytes} bytes";
            dropped.Gauge([("guest", guest), ("pid", pid), ("reason", reason)], left);
            if (_warned.Add((vm.Pid, conflict)))
                warn($"VM {pid} ({Text.Escape(guest)}): {left} series of its binary statistics left out: {reason}.");
        }
        families.AddRange(built.OrderBy(b => b.Key.Vcpu).ThenBy(b => b.Key.Name, StringComparer.Ordinal).Select(b => b.Value));
        families.Add(dropped);
    }

    /// <summary>Every definition of a statistic the VMs give, with the VMs that give it.</summary>
    private Dictionary<Definition, Claim> Claims(IReadOnlyList<VmStatsBlocks> vms)
    {
        var claims = new Dictionary<Definition, Claim>();
        foreach (VmStatsBlocks vm in vms)
        {
            foreach (IStatsBlock block in vm.Blocks)
            {
                foreach (KvmStatDescriptor d in block.Descriptors)
                {
                    if (!filter.Matches(d.Name))
                        continue;
                    var definition = new Definition(block.VcpuIndex >= 0, d.Name, d.Type, d.Unit, d.Base, d.Exponent,
                        d.IsHistogram ? block.Values(d).Length : 1, d.IsHistogram ? d.BucketSize : 0);
                    if (!claims.TryGetValue(definition, out Claim? claim))
                        claims[definition] = claim = new Claim(d);
                    claim.Pids.Add(vm.Pid);
                    // The kernel's own descriptors (held statistics descriptors), not a QMP peer's word.
                    claim.FromKernel |= block is KvmStatsFile;
                }
            }
        }
        return claims;
    }

    /// <summary>The definitions served (one per statistic, no two taking one exported name), and the VMs that gave another, with that statistic.</summary>
    private (Dictionary<(bool, string), Definition>, Dictionary<int, string>) Resolve(Dictionary<Definition, Claim> claims)
    {
        var accepted = new Dictionary<(bool, string), Definition>();
        var conflicts = new Dictionary<int, string>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        IEnumerable<KeyValuePair<Definition, Claim>> ranked = claims
            .OrderByDescending(c => c.Value.FromKernel)
            .ThenByDescending(c => c.Value.Pids.Count)
            .ThenByDescending(c => _inForce.TryGetValue((c.Key.Vcpu, c.Key.Name), out Definition d) && d == c.Key)
            .ThenBy(c => c.Key.ToString(), StringComparer.Ordinal);
        foreach ((Definition definition, Claim claim) in ranked)
        {
            string[] names = Names(claim.Template, definition.Vcpu);
            if (!accepted.ContainsKey((definition.Vcpu, definition.Name)) && !names.Any(taken.Contains))
            {
                accepted[(definition.Vcpu, definition.Name)] = definition;
                taken.UnionWith(names);
                continue;
            }
            foreach (int pid in claim.Pids)
                conflicts.TryAdd(pid, definition.Name);
        }
        return (accepted, conflicts);
    }

    /// <summary>Every name a family's samples take (as <see cref="MetricsWriter"/> claims them).</summary>
    private static string[] Names(KvmStatDescriptor d, bool vcpu) => MetricsWriter.ClaimedNames(FamilyName(d, vcpu), TypeOf(d));

    /// <summary>A statistic's family: kvm_vcpu_NAME for a vCPU's, kvm_vm_NAME for a VM's.</summary>
    private static string FamilyName(KvmStatDescriptor d, bool vcpu) => (vcpu ? "kvm_vcpu_" : "kvm_vm_") + d.ExportedName;

    private static string TypeOf(KvmStatDescriptor d) => d.IsHistogram ? "histogram" : d.Type == KvmStatType.Cumulative ? "counter" : "gauge";

    private static MetricFamily NewFamily(KvmStatDescriptor template, bool vcpus)
    {
        string? unit = template.UnitName;
        string help = $"KVM binary statistic {template.Name} of {(vcpus ? "each vCPU" : "each VM")} ({template.Type.ToString().ToLowerInvariant()}{(unit is null ? "" : ", " + unit)}).";
        return new MetricFamily(FamilyName(template, vcpus), TypeOf(template), template.IsHistogram ? help + " Buckets from KVM's histogram, in base units." : help);
    }

    // A histogram's bucket bounds as written, by what decides them: formatted once, not for every
    // vCPU at every scrape. Bounded by the kinds of histogram in force (a VM that differs is left out).
    private readonly Dictionary<(KvmStatType, KvmStatUnit, int, int, int, int), string[]> _bounds = [];

    private string[] BoundsOf(KvmStatDescriptor descriptor, int buckets)
    {
        var key = (descriptor.Type, descriptor.Unit, descriptor.Base, descriptor.Exponent, descriptor.BucketSize, buckets);
        if (!_bounds.TryGetValue(key, out string[]? bounds))
        {
            if (_bounds.Count >= 64)
                _bounds.Clear();
            _bounds[key] = bounds = [.. Enumerable.Range(0, buckets).Select(i => BaseUnits.Float(descriptor.BucketHighInBase(i, buckets)))];
        }
        return bounds;
    }

    private void AddSeries(MetricFamily family, string guest, string pid, IStatsBlock block, KvmStatDescriptor descriptor)
    {
        ReadOnlySpan<ulong> values = block.Values(descriptor);
        (string, string)[] labels = block.VcpuIndex >= 0
            ? [("guest", guest), ("pid", pid), ("vcpu", block.VcpuIndex.ToString(CultureInfo.InvariantCulture))]
            : [("guest", guest), ("pid", pid)];
        if (descriptor.IsHistogram)
        {
            ulong cumulative = 0;
            string[] bounds = BoundsOf(descriptor, values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                cumulative += values[i];
                family.Bucket(labels, bounds[i], cumulative);
            }
            // No _count: KVM histograms have no sum, and OpenMetrics allows _count only with _sum. The +Inf bucket is the count.
        }
        else if (descriptor.Type == KvmStatType.Cumulative)
        {
            // As KVM counts it: a counter that starts again from zero (a vCPU made again) is a reset
            // to Prometheus, whose rate() and increase() count from zero across it.
            family.Add("_total", labels, BaseUnits.Value(descriptor, (long)values[0]));
        }
        else
        {
            family.Add("", labels, BaseUnits.Value(descriptor, (long)values[0]));
        }
    }
}
