namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// KVM's binary statistics as fields (<see cref="BinaryStatsFields"/>: the names debugfs gives them,
/// and which fields a selection keeps). VM statistics are summed over VMs; vCPU statistics are
/// summed over vCPUs (the parent) and shown per vCPU as children (exits(vcpu0)). Cumulative values
/// count from the start (from its start for a VM that starts later; a VM that exits keeps what it
/// counted); instant values are summed and peaks take the maximum, neither differenced. A histogram
/// gives its sample count and its p50, p90 and p99 over the last interval, in its unit
/// (halt_wait_hist_p99_us).
/// </summary>
internal sealed class BinaryStatsSource : IStatsSource, IPerVmSource
{
    private sealed class BlockState(int descriptors, int fields)
    {
        /// <summary>Where each of the block's statistics goes (its descriptors are fixed): looked up by name once, not at every read.</summary>
        internal BinaryStatsFields.Target?[] Targets { get; } = new BinaryStatsFields.Target?[descriptors];

        internal long[] Baseline { get; } = new long[descriptors];
        internal ulong[][] PreviousBuckets { get; } = new ulong[descriptors][];
        internal long[] Contribution { get; } = new long[fields];
        internal bool Seen;
    }

    private readonly BinaryStatsCapture _capture;
    private readonly BinaryStatsFields _binaryFields;
    private readonly StatField[] _fields;
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

        _binaryFields = new BinaryStatsFields(vms, selection);
        _fields = [.. _binaryFields.Fields];
        _retired = new long[_fields.Length];
        _pool = new VmReadingPool(_fields.Length);
    }

    public string Name => "binary stats";

    public IReadOnlyList<StatField> Fields => _fields;

    /// <summary>VMs reached at the last read.</summary>
    internal int VmCount => _capture.Vms.Count;

    public void Read(Span<long> values)
    {
        BeginRead();
        _retired.CopyTo(values);
        // By index: a foreach over an IReadOnlyList allocates its enumerator, at every refresh.
        IReadOnlyList<VmStatsBlocks> vms = _capture.Vms;
        for (int v = 0; v < vms.Count; v++)
        {
            foreach (IStatsBlock block in vms[v].Blocks)
                Accumulate(block, values, histograms: true);
        }
        RetireUnseen(values);
        IReadOnlyList<BinaryStatsFields.Histogram> histograms = _binaryFields.Histograms;
        for (int h = 0; h < histograms.Count; h++)
        {
            BinaryStatsFields.Histogram histogram = histograms[h];
            (_, double factor) = histogram.Descriptor.Shown;
            for (int p = 0; p < Percentiles.Shown.Length; p++)
            {
                int field = histogram.PercentileFields[p];
                if (field >= 0)
                    values[field] = (long)Math.Round(histogram.Descriptor.Percentile(histogram.Interval, Percentiles.Shown[p].Fraction) * factor);
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
            reading.Instance = vm.Instance;
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
        IReadOnlyList<KvmStatDescriptor> descriptors = block.Descriptors;
        bool isNew = !_states.TryGetValue(block, out BlockState? state);
        if (isNew)
        {
            state = new BlockState(descriptors.Count, _fields.Length);
            for (int d = 0; d < descriptors.Count; d++)
                state.Targets[d] = _binaryFields.TargetOf(block, descriptors[d].Name);
            _states[block] = state;
        }
        state!.Seen = true;

        for (int d = 0; d < descriptors.Count; d++)
        {
            KvmStatDescriptor descriptor = descriptors[d];
            if (state.Targets[d] is not { } target)
                continue;
            ReadOnlySpan<ulong> raw = block.Values(descriptor);
            int child = target.ChildOf(block.VcpuIndex);
            long value;
            switch (target.Rule)
            {
                case BinaryStatsFields.Rule.Instant:
                    value = (long)raw[0];
                    Add(values, target.Parent, value);
                    Add(values, child, value);
                    continue;
                case BinaryStatsFields.Rule.Peak:
                    value = (long)raw[0];
                    Max(values, target.Parent, value);
                    Max(values, child, value);
                    continue;
                case BinaryStatsFields.Rule.Counter:
                    value = (long)raw[0];
                    break;
                default:
                    value = 0;
                    foreach (ulong bucket in raw)
                        value += (long)bucket;
                    if (histograms && target.Histogram >= 0)
                        AddInterval(_binaryFields.Histograms[target.Histogram], state, d, raw);
                    break;
            }
            // Blocks present at the start count from now; those that appear later, from their own start.
            if (isNew && !_started)
                state.Baseline[d] = value;
            long counted = value - state.Baseline[d];
            Add(values, target.Parent, counted);
            Add(values, child, counted);
            if (target.Parent >= 0)
                state.Contribution[target.Parent] = counted;
            if (child >= 0)
                state.Contribution[child] = counted;
        }
    }

    /// <summary>Adds what a block's histogram gained since the last read to the interval's histogram.</summary>
    private void AddInterval(BinaryStatsFields.Histogram histogram, BlockState state, int descriptor, ReadOnlySpan<ulong> buckets)
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
