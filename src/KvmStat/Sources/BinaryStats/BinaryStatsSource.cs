using System.Globalization;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// KVM's binary statistics as fields, with the names debugfs gives them. VM statistics are summed
/// over VMs; vCPU statistics are summed over vCPUs (the parent) and shown per vCPU as children
/// (exits(vcpu0)). Cumulative values count from the start (from its start for a VM that starts
/// later; a VM that exits keeps what it counted); instant values are summed and peaks take the
/// maximum, neither differenced. A histogram gives its sample count and its p50, p90 and p99 over
/// the last interval, in its unit (halt_wait_hist_p99_us).
/// </summary>
internal sealed class BinaryStatsSource : IStatsSource, IPerVmSource
{
    private enum Rule { Counter, Instant, Peak, HistogramCount }

    private sealed class FieldMap
    {
        internal int Parent = -1;
        internal Dictionary<int, int>? ChildByVcpu;
        internal Rule Rule;
        internal int Histogram = -1;
    }

    private sealed class Histogram(KvmStatDescriptor descriptor)
    {
        internal KvmStatDescriptor Descriptor { get; } = descriptor;

        /// <summary>The field of each shown percentile, or -1 where the filter left it out.</summary>
        internal int[] PercentileFields { get; } = [.. HistogramPercentiles.Shown.Select(_ => -1)];

        /// <summary>What the buckets gained over the interval (as long as the longest histogram seen: QMP gives sizes only with values).</summary>
        internal ulong[] Interval { get; set; } = new ulong[descriptor.Size];
    }

    private sealed class BlockState(int descriptors, int fields)
    {
        internal long[] Baseline { get; } = new long[descriptors];
        internal ulong[][] PreviousBuckets { get; } = new ulong[descriptors][];
        internal long[] Contribution { get; } = new long[fields];
        internal bool Seen;
    }

    private readonly BinaryStatsCapture _capture;
    private readonly StatField[] _fields;
    private readonly Dictionary<string, FieldMap> _vmMaps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FieldMap> _vcpuMaps = new(StringComparer.Ordinal);
    private readonly List<Histogram> _histograms = [];
    private readonly Dictionary<IStatsBlock, BlockState> _states = new(ReferenceEqualityComparer.Instance);
    private readonly List<IStatsBlock> _gone = [];
    private readonly long[] _retired;
    private readonly VmReadingPool _pool;
    private bool _started;

    /// <summary>Statistics blocks (a VM's or a vCPU's) whose counts are followed (for tests of what stays bounded).</summary>
    internal int TrackedBlocks => _states.Count;

    /// <summary>
    /// Learns the statistics from the capture's reading (taking one if none was taken yet); throws
    /// when no VM can be reached. The capture belongs to the caller: the sampler takes it before
    /// this source reads, and closes it.
    /// </summary>
    /// <param name="unreached">Why no VM may have been reached, and what would reach one, for the error when none was.</param>
    internal BinaryStatsSource(BinaryStatsCapture capture, IFieldSelection selection, (string Cause, string? Fix) unreached)
    {
        _capture = capture;
        if (capture.Count == 0)
            capture.Capture();
        IReadOnlyList<VmStatsBlocks> vms = capture.Vms;
        if (vms.Count == 0)
            throw new EnvironmentException($"no VM's binary statistics could be read: {unreached.Cause}", unreached.Fix);

        var fields = new List<StatField>();
        var vcpus = new SortedSet<int>();
        var vmDescriptors = new Dictionary<string, KvmStatDescriptor>(StringComparer.Ordinal);
        var vcpuDescriptors = new Dictionary<string, KvmStatDescriptor>(StringComparer.Ordinal);
        foreach (VmStatsBlocks vm in vms)
        {
            foreach (IStatsBlock block in vm.Blocks)
            {
                if (block.VcpuIndex >= 0)
                    vcpus.Add(block.VcpuIndex);
                foreach (KvmStatDescriptor descriptor in block.Descriptors)
                    (block.VcpuIndex < 0 ? vmDescriptors : vcpuDescriptors).TryAdd(descriptor.Name, descriptor);
            }
        }

        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach ((Dictionary<string, KvmStatDescriptor> descriptors, Dictionary<string, FieldMap> maps, bool perVcpu) in
                 new[] { (vmDescriptors, _vmMaps, false), (vcpuDescriptors, _vcpuMaps, true) })
        {
            foreach (KvmStatDescriptor descriptor in descriptors.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                if (!taken.Add(descriptor.Name))
                    continue;
                string? unit = descriptor.IsHistogram ? null : HistogramPercentiles.RawUnit(descriptor);
                var candidates = new List<StatField> { new(descriptor.Name, null, KindOf(descriptor), FieldOrigin.BinaryStats, unit) };
                if (descriptor.IsHistogram)
                {
                    (string suffix, _) = HistogramPercentiles.DisplayUnit(descriptor);
                    foreach ((string label, _) in HistogramPercentiles.Shown)
                        candidates.Add(new StatField($"{descriptor.Name}_{label}{(suffix.Length > 0 ? "_" + suffix : "")}", null, StatKind.Gauge, FieldOrigin.BinaryStats,
                            suffix.Length > 0 ? suffix : null));
                }
                else if (perVcpu)
                {
                    foreach (int vcpu in vcpus)
                        candidates.Add(new StatField(ChildName(descriptor.Name, vcpu), descriptor.Name, KindOf(descriptor), FieldOrigin.BinaryStats, unit, VcpuLabel(vcpu)));
                }

                List<StatField> chosen = selection.Select(candidates, f => f.Name, f => f.Parent);
                if (chosen.Count == 0)
                    continue;
                var map = new FieldMap { Rule = RuleOf(descriptor) };
                Histogram? histogram = descriptor.IsHistogram ? new Histogram(descriptor) : null;
                foreach (StatField field in chosen)
                {
                    int index = fields.Count;
                    fields.Add(field);
                    if (field.Name == descriptor.Name)
                    {
                        map.Parent = index;
                    }
                    else if (field.Parent is not null)
                    {
                        map.ChildByVcpu ??= [];
                        map.ChildByVcpu[vcpus.First(v => VcpuLabel(v) == field.Label)] = index;
                    }
                    else if (histogram is not null)
                    {
                        // candidates[1..] are the percentiles, in the order of HistogramPercentiles.Shown.
                        histogram.PercentileFields[candidates.FindIndex(f => f.Name == field.Name) - 1] = index;
                    }
                }
                if (histogram is not null && histogram.PercentileFields.Any(f => f >= 0))
                {
                    map.Histogram = _histograms.Count;
                    _histograms.Add(histogram);
                }
                maps[descriptor.Name] = map;
            }
        }
        _fields = [.. fields];
        _retired = new long[_fields.Length];
        _pool = new VmReadingPool(_fields.Length);
    }

    private static string VcpuLabel(int vcpu) => "vcpu" + vcpu.ToString(CultureInfo.InvariantCulture);

    private static string ChildName(string name, int vcpu) => $"{name}({VcpuLabel(vcpu)})";

    private static StatKind KindOf(KvmStatDescriptor descriptor) =>
        descriptor.Type is KvmStatType.Cumulative || descriptor.IsHistogram ? StatKind.Counter : StatKind.Gauge;

    private static Rule RuleOf(KvmStatDescriptor descriptor) => descriptor.Type switch
    {
        KvmStatType.Cumulative => Rule.Counter,
        KvmStatType.Instant => Rule.Instant,
        KvmStatType.Peak => Rule.Peak,
        _ => Rule.HistogramCount,
    };

    public string Name => "binary stats";

    public IReadOnlyList<StatField> Fields => _fields;

    /// <summary>VMs reached at the last read.</summary>
    internal int VmCount => _capture.Vms.Count;

    public void Read(Span<long> values)
    {
        BeginRead();
        _retired.CopyTo(values);
        foreach (VmStatsBlocks vm in _capture.Vms)
        {
            foreach (IStatsBlock block in vm.Blocks)
                Accumulate(block, values, histograms: true);
        }
        RetireUnseen(values);
        foreach (Histogram histogram in _histograms)
        {
            (_, double factor) = HistogramPercentiles.DisplayUnit(histogram.Descriptor);
            for (int p = 0; p < HistogramPercentiles.Shown.Length; p++)
            {
                int field = histogram.PercentileFields[p];
                if (field >= 0)
                    values[field] = (long)Math.Round(HistogramPercentiles.Percentile(histogram.Descriptor, histogram.Interval, HistogramPercentiles.Shown[p].Fraction) * factor);
            }
            Array.Clear(histogram.Interval);
        }
        _started = true;
    }

    /// <summary>Per-VM values (the screen's per-guest view): each VM's blocks on their own.</summary>
    public void Read(List<VmReading> readings)
    {
        BeginRead();
        _pool.Recycle(readings);
        foreach (VmStatsBlocks vm in _capture.Vms)
        {
            VmReading reading = _pool.Take(vm.Pid);
            Array.Clear(reading.Values);
            foreach (IStatsBlock block in vm.Blocks)
                Accumulate(block, reading.Values, histograms: false);
            readings.Add(reading);
        }
        RetireUnseen([]);
        _started = true;
    }

    /// <summary>Marks every known block unseen until this read finds it. Blocks found at the first read count from there; later ones from their own start.</summary>
    private void BeginRead()
    {
        foreach (BlockState state in _states.Values)
            state.Seen = false;
    }

    private void Accumulate(IStatsBlock block, Span<long> values, bool histograms)
    {
        Dictionary<string, FieldMap> maps = block.VcpuIndex < 0 ? _vmMaps : _vcpuMaps;
        IReadOnlyList<KvmStatDescriptor> descriptors = block.Descriptors;
        bool isNew = !_states.TryGetValue(block, out BlockState? state);
        if (isNew)
        {
            state = new BlockState(descriptors.Count, _fields.Length);
            _states[block] = state;
        }
        state!.Seen = true;

        for (int d = 0; d < descriptors.Count; d++)
        {
            KvmStatDescriptor descriptor = descriptors[d];
            if (!maps.TryGetValue(descriptor.Name, out FieldMap? map))
                continue;
            ReadOnlySpan<ulong> raw = block.Values(descriptor);
            int child = map.ChildByVcpu is { } children && children.TryGetValue(block.VcpuIndex, out int c) ? c : -1;
            long value;
            switch (map.Rule)
            {
                case Rule.Instant:
                    value = (long)raw[0];
                    Add(values, map.Parent, value);
                    Add(values, child, value);
                    continue;
                case Rule.Peak:
                    value = (long)raw[0];
                    Max(values, map.Parent, value);
                    Max(values, child, value);
                    continue;
                case Rule.Counter:
                    value = (long)raw[0];
                    break;
                default:
                    value = 0;
                    foreach (ulong bucket in raw)
                        value += (long)bucket;
                    if (histograms && map.Histogram >= 0)
                        AddInterval(_histograms[map.Histogram], state, d, raw);
                    break;
            }
            // Blocks present at the start count from now; those that appear later, from their own start.
            if (isNew && !_started)
                state.Baseline[d] = value;
            long counted = value - state.Baseline[d];
            Add(values, map.Parent, counted);
            Add(values, child, counted);
            if (map.Parent >= 0)
                state.Contribution[map.Parent] = counted;
            if (child >= 0)
                state.Contribution[child] = counted;
        }
    }

    /// <summary>Adds what a block's histogram gained since the last read to the interval's histogram.</summary>
    private void AddInterval(Histogram histogram, BlockState state, int descriptor, ReadOnlySpan<ulong> buckets)
    {
        ulong[]? previous = state.PreviousBuckets[descriptor];
        if (previous is null)
        {
            previous = new ulong[buckets.Length];
            state.PreviousBuckets[descriptor] = previous;
            if (!_started)
                buckets.CopyTo(previous);
        }
        if (histogram.Interval.Length < buckets.Length)
        {
            ulong[] larger = new ulong[buckets.Length];
            histogram.Interval.CopyTo(larger, 0);
            histogram.Interval = larger;
        }
        if (previous.Length != buckets.Length)
        {
            previous = new ulong[buckets.Length];
            state.PreviousBuckets[descriptor] = previous;
            buckets.CopyTo(previous);
        }
        int count = buckets.Length;
        for (int i = 0; i < count; i++)
        {
            if (buckets[i] >= previous[i])
                histogram.Interval[i] += buckets[i] - previous[i];
            previous[i] = buckets[i];
        }
    }

    /// <summary>
    /// A block that is gone (its VM exited) keeps what its counters counted: from now on in the
    /// retired totals, and in <paramref name="values"/> for this read already.
    /// </summary>
    private void RetireUnseen(Span<long> values)
    {
        _gone.Clear();
        foreach ((IStatsBlock block, BlockState state) in _states)
        {
            if (state.Seen)
                continue;
            for (int i = 0; i < _fields.Length; i++)
            {
                if (_fields[i].Kind != StatKind.Counter)
                    continue;
                _retired[i] += state.Contribution[i];
                if (!values.IsEmpty)
                    values[i] += state.Contribution[i];
            }
            _gone.Add(block);
        }
        foreach (IStatsBlock block in _gone)
            _states.Remove(block);
    }

    private static void Add(Span<long> values, int field, long value)
    {
        if (field >= 0)
            values[field] += value;
    }

    private static void Max(Span<long> values, int field, long value)
    {
        if (field >= 0 && value > values[field])
            values[field] = value;
    }

    /// <summary>Nothing of its own: the capture it reads belongs to the sampler.</summary>
    public void Dispose()
    {
    }
}
