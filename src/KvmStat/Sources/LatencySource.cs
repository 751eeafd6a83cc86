namespace KvmStat.Sources;

/// <summary>
/// Exit latencies as fields (for -1, -l, -L and JSON): per kind of exit (handled in user space, or
/// in the kernel), how many exits were timed, and their p50, p90 and p99 over the last interval in
/// microseconds, each with a child per reason: user_exit_timed, user_exit_p99_us(IO), ... A VM's
/// (with -p/-g) or every process's, from one <see cref="ExitLatencies"/> the engine fills.
/// </summary>
internal sealed class LatencySource : IStatsSource
{
    private static readonly (string Label, double Fraction)[] s_percentiles = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99)];

    private readonly ExitLatencies _latencies;
    private readonly int _pid;
    private readonly List<StatField> _fields = [];
    private readonly List<(int Kind, int Reason, int Percentile)> _map = [];
    private readonly int[][] _reasonsOfKind;
    private readonly Dictionary<int, ulong[]> _previous = [];
    private readonly ulong[] _interval = new ulong[ExitLatencies.Buckets];

    /// <param name="pid">One VM's latencies, or 0 for every process's.</param>
    internal LatencySource(ExitLatencies latencies, int pid)
    {
        _latencies = latencies;
        _pid = pid;
        string[] kinds = ["kvm_userspace_exit", "kvm_exit"];
        _reasonsOfKind = [.. kinds.Select(kind => Enumerable.Range(0, latencies.Fields.Count).Where(i => latencies.Fields[i].Parent == kind).ToArray())];
        for (int kind = 0; kind < kinds.Length; kind++)
        {
            if (_reasonsOfKind[kind].Length == 0)
                continue;
            string prefix = kind == 0 ? "user_exit" : "kernel_exit";
            AddFamily($"{prefix}_timed", StatKind.Counter, null, kind, -1);
            for (int p = 0; p < s_percentiles.Length; p++)
                AddFamily($"{prefix}_{s_percentiles[p].Label}_us", StatKind.Gauge, "us", kind, p);
        }
    }

    private void AddFamily(string name, StatKind kind, string? unit, int exitKind, int percentile)
    {
        _fields.Add(new StatField(name, null, kind, FieldOrigin.Tracepoint, unit));
        _map.Add((exitKind, -1, percentile));
        foreach (int reason in _reasonsOfKind[exitKind])
        {
            string label = _latencies.Fields[reason].ChildLabel;
            _fields.Add(new StatField($"{name}({label})", name, kind, FieldOrigin.Tracepoint, unit, label));
            _map.Add((exitKind, reason, percentile));
        }
    }

    public string Name => "exit latencies";

    public IReadOnlyList<StatField> Fields => _fields;

    public void Read(Span<long> values)
    {
        Dictionary<int, ulong[]>? histograms = _pid == 0 ? _latencies.Host : _latencies.Vms.GetValueOrDefault(_pid);
        for (int i = 0; i < _fields.Count; i++)
        {
            (int kind, int reason, int percentile) = _map[i];
            Interval(histograms, kind, reason, out ulong total);
            values[i] = percentile < 0
                ? (long)total
                : (long)Math.Round(ExitLatencies.Percentile(_interval, s_percentiles[percentile].Fraction) / 1000);
        }
        // The next interval starts from what this read saw.
        if (histograms is null)
            return;
        foreach ((int field, ulong[] buckets) in histograms)
        {
            if (!_previous.TryGetValue(field, out ulong[]? previous))
                _previous[field] = previous = new ulong[ExitLatencies.Buckets];
            buckets.CopyTo(previous, 0);
        }
    }

    /// <summary>What one reason (or every reason of a kind, with -1) gained since the last read, into the interval buffer; and its total.</summary>
    private void Interval(Dictionary<int, ulong[]>? histograms, int kind, int reason, out ulong total)
    {
        Array.Clear(_interval);
        total = 0;
        if (histograms is null)
            return;
        foreach (int field in reason >= 0 ? [reason] : _reasonsOfKind[kind])
        {
            if (!histograms.TryGetValue(field, out ulong[]? buckets))
                continue;
            ulong[]? previous = _previous.GetValueOrDefault(field);
            for (int b = 0; b < buckets.Length; b++)
            {
                total += buckets[b];
                _interval[b] += previous is null || buckets[b] < previous[b] ? buckets[b] : buckets[b] - previous[b];
            }
        }
    }

    /// <summary>Nothing of its own: the engine owns the histograms.</summary>
    public void Dispose()
    {
    }

}
