namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// The fields KVM's binary statistics become, and where each statistic's values go: a field per
/// statistic, named as debugfs names it; for a vCPU statistic a child per vCPU (exits(vcpu0)); for
/// a histogram its percentiles (halt_wait_hist_p99_us). Learnt once, from the statistics of the VMs
/// reached then, and only what the selection keeps.
/// </summary>
internal sealed class BinaryStatsFields
{
    /// <summary>How a statistic's values make a field's: counted from a start, summed, the highest, or a histogram's samples counted.</summary>
    internal enum Rule { Counter, Instant, Peak, HistogramCount }

    /// <summary>Where one statistic's values go: its field (-1: left out), its vCPUs' children, its histogram (-1: none).</summary>
    internal sealed class Target
    {
        internal int Parent = -1;
        internal Dictionary<int, int>? ChildByVcpu;
        internal Rule Rule;
        internal int Histogram = -1;

        /// <summary>The child field of a vCPU, or -1 (a VM's statistic, or a vCPU left out).</summary>
        internal int ChildOf(int vcpu) => ChildByVcpu is { } children && children.TryGetValue(vcpu, out int child) ? child : -1;
    }

    /// <summary>A histogram whose percentiles are shown, with what its buckets gained over the interval.</summary>
    internal sealed class Histogram(KvmStatDescriptor descriptor)
    {
        internal KvmStatDescriptor Descriptor { get; } = descriptor;

        /// <summary>The field of each shown percentile, or -1 where the filter left it out.</summary>
        internal int[] PercentileFields { get; } = [.. Percentiles.Shown.Select(_ => -1)];

        /// <summary>What the buckets gained over the interval (as long as the longest histogram seen: QMP gives sizes only with values).</summary>
        internal ulong[] Interval { get; set; } = new ulong[descriptor.Size];
    }

    private readonly List<StatField> _fields = [];
    private readonly Dictionary<string, Target> _vmTargets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Target> _vcpuTargets = new(StringComparer.Ordinal);
    private readonly List<Histogram> _histograms = [];

    /// <summary>Learns the fields of the statistics of <paramref name="vms"/> that <paramref name="selection"/> keeps.</summary>
    internal BinaryStatsFields(IReadOnlyList<VmStatsBlocks> vms, IFieldSelection selection)
    {
        (SortedSet<int> vcpus, Dictionary<string, KvmStatDescriptor> vmStats, Dictionary<string, KvmStatDescriptor> vcpuStats) = Statistics(vms);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach ((Dictionary<string, KvmStatDescriptor> descriptors, Dictionary<string, Target> targets, bool perVcpu) in
                 new[] { (vmStats, _vmTargets, false), (vcpuStats, _vcpuTargets, true) })
        {
            foreach (KvmStatDescriptor descriptor in descriptors.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                // A name of a VM statistic and of a vCPU statistic is the VM's.
                if (!taken.Add(descriptor.Name))
                    continue;
                List<StatField> candidates = Candidates(descriptor, perVcpu ? vcpus : []);
                List<StatField> chosen = selection.Select(candidates, f => f.Name, f => f.Parent);
                if (chosen.Count > 0)
                    targets[descriptor.Name] = Add(descriptor, candidates, chosen, vcpus);
            }
        }
    }

    internal IReadOnlyList<StatField> Fields => _fields;

    internal IReadOnlyList<Histogram> Histograms => _histograms;

    /// <summary>Where a statistic of a block (a VM's or a vCPU's) goes; null where no field shows it.</summary>
    internal Target? TargetOf(IStatsBlock block, string statistic) =>
        (block.VcpuIndex < 0 ? _vmTargets : _vcpuTargets).GetValueOrDefault(statistic);

    /// <summary>The vCPU indexes, and the first descriptor of each name among the VMs' and among the vCPUs' statistics.</summary>
    private static (SortedSet<int> Vcpus, Dictionary<string, KvmStatDescriptor> Vm, Dictionary<string, KvmStatDescriptor> Vcpu) Statistics(
        IReadOnlyList<VmStatsBlocks> vms)
    {
        var vcpus = new SortedSet<int>();
        var vm = new Dictionary<string, KvmStatDescriptor>(StringComparer.Ordinal);
        var vcpu = new Dictionary<string, KvmStatDescriptor>(StringComparer.Ordinal);
        foreach (IStatsBlock block in vms.SelectMany(v => v.Blocks))
        {
            if (block.VcpuIndex >= 0)
                vcpus.Add(block.VcpuIndex);
            foreach (KvmStatDescriptor descriptor in block.Descriptors)
                (block.VcpuIndex < 0 ? vm : vcpu).TryAdd(descriptor.Name, descriptor);
        }
        return (vcpus, vm, vcpu);
    }

    /// <summary>The fields a statistic can give: itself first, then its percentiles (a histogram) or a child per vCPU.</summary>
    private static List<StatField> Candidates(KvmStatDescriptor descriptor, IEnumerable<int> vcpus)
    {
        string? unit = descriptor.IsHistogram ? null : descriptor.UnitName;
        var candidates = new List<StatField> { new(descriptor.Name, null, KindOf(descriptor), FieldOrigin.BinaryStats, unit) };
        if (descriptor.IsHistogram)
        {
            (string suffix, _) = descriptor.Shown;
            foreach ((string label, _) in Percentiles.Shown)
                candidates.Add(new StatField($"{descriptor.Name}_{label}{(suffix.Length > 0 ? "_" + suffix : "")}", null, StatKind.Gauge, FieldOrigin.BinaryStats,
                    suffix.Length > 0 ? suffix : null));
            return candidates;
        }
        foreach (int vcpu in vcpus)
            candidates.Add(new StatField(ChildName(descriptor.Name, vcpu), descriptor.Name, KindOf(descriptor), FieldOrigin.BinaryStats, unit, VcpuLabel(vcpu)));
        return candidates;
    }

    /// <summary>Adds the chosen fields of a statistic, and says where its values go.</summary>
    private Target Add(KvmStatDescriptor descriptor, List<StatField> candidates, List<StatField> chosen, SortedSet<int> vcpus)
    {
        var target = new Target { Rule = RuleOf(descriptor) };
        Histogram? histogram = descriptor.IsHistogram ? new Histogram(descriptor) : null;
        foreach (StatField field in chosen)
        {
            int index = _fields.Count;
            _fields.Add(field);
            if (field.Name == descriptor.Name)
            {
                target.Parent = index;
            }
            else if (field.Parent is not null)
            {
                target.ChildByVcpu ??= [];
                target.ChildByVcpu[vcpus.First(v => VcpuLabel(v) == field.Label)] = index;
            }
            else if (histogram is not null)
            {
                // candidates[1..] are the percentiles, in the order of Percentiles.Shown.
                histogram.PercentileFields[candidates.FindIndex(f => f.Name == field.Name) - 1] = index;
            }
        }
        if (histogram is not null && histogram.PercentileFields.Any(f => f >= 0))
        {
            target.Histogram = _histograms.Count;
            _histograms.Add(histogram);
        }
        return target;
    }

    private static string VcpuLabel(int vcpu) => Guests.VcpuThread.LabelOf(vcpu);

    private static string ChildName(string name, int vcpu) => StatField.ChildName(name, VcpuLabel(vcpu));

    private static StatKind KindOf(KvmStatDescriptor descriptor) =>
        descriptor.Type is KvmStatType.Cumulative || descriptor.IsHistogram ? StatKind.Counter : StatKind.Gauge;

    private static Rule RuleOf(KvmStatDescriptor descriptor) => descriptor.Type switch
    {
        KvmStatType.Cumulative => Rule.Counter,
        KvmStatType.Instant => Rule.Instant,
        KvmStatType.Peak => Rule.Peak,
        _ => Rule.HistogramCount,
    };
}
