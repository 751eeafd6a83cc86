namespace KvmStat.Sources;

/// <summary>
/// Exit latencies as fields (for -1, -l, -L and JSON): per kind of exit (handled in user space, or
/// in the kernel), how many exits were timed, the microseconds they kept vCPUs out of their guests
/// (a counter: its rate is the time each second costs), and their p50, p90 and p99 over the last
/// interval in microseconds, each with a child per reason: user_exit_timed, user_exit_time_us(IO),
/// user_exit_p99_us(IO), ... A VM's
/// (with -p/-g) or every process's, from one <see cref="ExitLatencies"/> the engine fills.
/// </summary>
internal sealed class LatencySource : IStatsSource
{

    private readonly ExitLatencies _latencies;
    private readonly int _pid;
    private readonly List<StatField> _fields = [];
    /// <summary>Which field is which: a percentile's index, or <see cref="Timed"/>, or <see cref="Time"/>.</summary>
    private readonly List<(int Kind, int Reason, int Percentile)> _map = [];
    private const int Timed = -1, Time = -2, Lost = -3;
    private readonly int[][] _reasonsOfKind;
    private readonly ulong[] _interval = new ulong[ExitLatencies.Buckets];

    /// <param name="pid">One VM's latencies, or 0 for every process's.</param>
    /// <param name="selection">The fields -f keeps (a reason with its family, as a tracepoint's children), or all.</param>
    internal LatencySource(ExitLatencies latencies, int pid, IFieldSelection? selection = null)
    {
        _latencies = latencies;
        _pid = pid;
        string[] kinds = ExitLatencies.Kinds;
        _reasonsOfKind = [.. kinds.Select((_, kind) => Enumerable.Range(0, latencies.Fields.Count).Where(i => latencies.KindOf(i) == kind).ToArray())];
        for (int kind = 0; kind < kinds.Length; kind++)
        {
            if (_reasonsOfKind[kind].Length == 0)
                continue;
            string[] names = Families(kind);
            AddFamily(names[0], StatKind.Counter, null, kind, Timed);
            AddFamily(names[1], StatKind.Counter, UnitOf(kind), kind, Time);
            for (int p = 0; p < Percentiles.Shown.Length; p++)
                AddFamily(names[2 + p], StatKind.Gauge, UnitOf(kind), kind, p);
        }
        // Exits the full table could not time (every process's, even with -p/-g): never a silent gap.
        if (_fields.Count > 0)
        {
            _fields.Add(new StatField(LostField, null, StatKind.Counter, FieldOrigin.ExitLatency, null));
            _map.Add((-1, -1, Lost));
        }
        if (selection is null)
            return;
        List<int> kept = selection.Select(Enumerable.Range(0, _fields.Count), i => _fields[i].Name, i => _fields[i].Parent);
        (StatField, (int, int, int))[] chosen = [.. kept.Select(i => (_fields[i], _map[i]))];
        _fields.Clear();
        _map.Clear();
        foreach ((StatField field, (int, int, int) map) in chosen)
        {
            _fields.Add(field);
            _map.Add(map);
        }
    }

    /// <summary>Exits whose time could not be kept since the start (the table of buckets was full), every process's.</summary>
    internal const string LostField = "exit_latency_lost";

    /// <summary>The families (parent fields) for -f help: those of exits to user space, and with <paramref name="kernel"/> those in the kernel.</summary>
    internal static IEnumerable<string> FamilyNames(bool kernel) => Families(0).Concat(kernel ? Families(1) : []).Append(LostField);

    /// <summary>The families of a kind of exit (0: to user space, 1: in the kernel): exits timed, their time, each percentile.</summary>
    private static string[] Families(int kind)
    {
        string prefix = kind == 0 ? "user_exit" : "kernel_exit", unit = UnitOf(kind);
        return [$"{prefix}_timed", $"{prefix}_time_{unit}", .. Percentiles.Shown.Select(p => $"{prefix}_{p.Label}_{unit}")];
    }

    /// <summary>
    /// Microseconds for exits handled in user space (microseconds to milliseconds); nanoseconds for
    /// those in the kernel, which take well under a microsecond to a few: in whole microseconds a
    /// p99 of 0.4 µs would read 0, as no exit at all.
    /// </summary>
    private static string UnitOf(int kind) => kind == 0 ? "us" : "ns";

    private static long InUnit(int kind, double nanoseconds) => (long)Math.Round(kind == 0 ? nanoseconds / 1000 : nanoseconds);

    private void AddFamily(string name, StatKind kind, string? unit, int exitKind, int percentile)
    {
        _fields.Add(new StatField(name, null, kind, FieldOrigin.ExitLatency, unit));
        _map.Add((exitKind, -1, percentile));
        foreach (int reason in _reasonsOfKind[exitKind])
        {
            string label = _latencies.Fields[reason].ChildLabel;
            _fields.Add(StatField.Child(name, label, kind, FieldOrigin.ExitLatency, unit));
            _map.Add((exitKind, reason, percentile));
        }
    }

    public string Name => "exit latencies";

    public IReadOnlyList<StatField> Fields => _fields;

    public void Read(Span<long> values)
    {
        Dictionary<int, LatencyHistogram>? histograms = _pid == 0 ? _latencies.Host : _latencies.Vms.GetValueOrDefault(_pid);
        for (int i = 0; i < _fields.Count; i++)
        {
            (int kind, int reason, int percentile) = _map[i];
            if (percentile == Lost)
            {
                values[i] = _latencies.Lost;
                continue;
            }
            Interval(histograms, kind, reason, out ulong total, out ulong nanoseconds, out ulong intervalNanoseconds);
            values[i] = percentile switch
            {
                Timed => (long)total,
                Time => kind == 0 ? (long)(nanoseconds / 1000) : (long)nanoseconds,
                _ => InUnit(kind, ExitLatencies.Percentile(_interval, Percentiles.Shown[percentile].Fraction, intervalNanoseconds)),
            };
        }
    }

    /// <summary>
    /// What one reason (or every reason of a kind, with -1) gained in the sampler's last interval,
    /// into the interval buffer with its nanoseconds; and its exits and nanoseconds since counting began.
    /// </summary>
    private void Interval(Dictionary<int, LatencyHistogram>? histograms, int kind, int reason, out ulong total, out ulong nanoseconds, out ulong intervalNanoseconds)
    {
        Array.Clear(_interval);
        total = nanoseconds = intervalNanoseconds = 0;
        if (histograms is null)
            return;
        // A span over the one reason: the refresh loop allocates nothing.
        ReadOnlySpan<int> fields = reason >= 0 ? new ReadOnlySpan<int>(ref reason) : _reasonsOfKind[kind];
        foreach (int field in fields)
        {
            if (!histograms.TryGetValue(field, out LatencyHistogram? histogram))
                continue;
            histogram.LastInterval(_interval, out ulong gained);
            intervalNanoseconds += gained;
            nanoseconds += histogram.Nanoseconds;
            total += histogram.Count;
        }
    }

    /// <summary>Nothing of its own: the engine owns the histograms.</summary>
    public void Dispose()
    {
    }

}
