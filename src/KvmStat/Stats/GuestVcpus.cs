using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// A VM's vCPUs over its threads, summed once per sample so that every output shows the same
/// quantity: a row per vCPU (its threads now and what those gone counted), per thread of no known
/// vCPU, and per vCPU whose threads are all gone. A vCPU's delta is what its row gained. A thread
/// is its reading (<see cref="VcpuReading"/>: one object for a thread's life), so a thread id used
/// again while its old thread is still read is another thread.
/// </summary>
internal sealed class GuestVcpus(GoneVcpuBudget budget)
{
    /// <summary>The threads of the last sample, with what they counted then, in the reading's order; and by reading.</summary>
    private List<Thread> _threads = [], _nextThreads = [];
    private Dictionary<VcpuReading, Thread> _byReading = new(ReferenceEqualityComparer.Instance), _nextByReading = new(ReferenceEqualityComparer.Instance);
    /// <summary>By vCPU: what its threads that are gone counted, and their exit latencies.</summary>
    private readonly Dictionary<int, VcpuStat> _gone = [];
    /// <summary>The vCPUs of <see cref="_gone"/> without a thread now: those the budget holds.</summary>
    private readonly HashSet<int> _charged = [];
    private readonly HashSet<int> _live = [];
    private readonly List<int> _dropped = [];
    /// <summary>The rows, in the order of their first thread (then the vCPUs whose threads are all gone), and by key.</summary>
    private readonly List<VcpuStat> _rows = [];
    private Dictionary<int, VcpuStat> _rowByKey = [], _lastRowByKey = [];

    internal GuestVcpus()
        : this(new GoneVcpuBudget(GoneVcpuBudget.Default))
    {
    }

    internal IReadOnlyList<VcpuStat> Rows => _rows;

    /// <summary>The VM is gone: its gone vCPUs give their room back.</summary>
    internal void Release()
    {
        budget.Free += _charged.Count;
        _charged.Clear();
        _gone.Clear();
    }

    /// <summary>
    /// Matches the reading's threads to the last sample's, keeps what those gone counted with their
    /// vCPU, and sums each vCPU's threads into its row: in time linear in the threads, whatever
    /// their order (a VMM may run thousands of threads on its vCPUs).
    /// </summary>
    internal void Sample(List<VcpuReading> readings)
    {
        if (readings.Count == 0 && _threads.Count == 0 && _rows.Count == 0)
            return;
        MatchThreads(readings);
        Charge();
        (_lastRowByKey, _rowByKey) = (_rowByKey, _lastRowByKey);
        _rowByKey.Clear();
        _rows.Clear();
        foreach (Thread thread in _threads)
        {
            VcpuStat row = Row(thread.Index >= 0 ? thread.Index : ~thread.Tid, thread.Index, thread.Label, thread.Totals.Length);
            // The last thread names the row (the BPF engine lists a vCPU's threads by thread id).
            row.Tid = thread.Tid;
            for (int i = 0; i < row.Totals.Length; i++)
                row.Totals[i] += thread.Totals[i];
            row.Latency = Add(row.Latency, thread.Latency);
        }
        foreach ((int index, VcpuStat gone) in _gone)
        {
            if (!_rowByKey.ContainsKey(index))
                Row(index, index, gone.Label, gone.Totals.Length).Tid = 0;
        }
        // A row's deltas held minus its last totals: now what it gained (none where a total went
        // down: a vCPU's gone threads beyond the budget).
        foreach (VcpuStat row in _rows)
        {
            for (int i = 0; i < row.Totals.Length; i++)
                row.Deltas[i] = Math.Max(0, row.Deltas[i] + row.Totals[i]);
        }
        _lastRowByKey.Clear();
    }

    /// <summary>Each thread keeps its entry while it is read; what a vCPU's thread that is gone counted goes to the vCPU.</summary>
    private void MatchThreads(List<VcpuReading> readings)
    {
        foreach (VcpuReading reading in readings)
        {
            if (!_byReading.Remove(reading, out Thread? thread))
                thread = new Thread(reading.Values.Length);
            reading.Values.CopyTo(thread.Totals, 0);
            (thread.Index, thread.Tid, thread.Label, thread.Latency) = (reading.Index, reading.Tid, reading.Label, reading.Latency);
            _nextThreads.Add(thread);
            _nextByReading.TryAdd(reading, thread);
        }
        // Those not read again are gone.
        foreach (Thread gone in _byReading.Values)
        {
            if (gone.Index >= 0)
                Retire(gone);
        }
        (_threads, _nextThreads) = (_nextThreads, _threads);
        (_byReading, _nextByReading) = (_nextByReading, _byReading);
        _nextThreads.Clear();
        _nextByReading.Clear();
    }

    private void Retire(Thread thread)
    {
        if (!_gone.TryGetValue(thread.Index, out VcpuStat? gone))
            _gone[thread.Index] = gone = new VcpuStat(thread.Totals.Length) { Index = thread.Index, Label = thread.Label };
        for (int i = 0; i < gone.Totals.Length; i++)
            gone.Totals[i] += thread.Totals[i];
        gone.Latency = Add(gone.Latency, thread.Latency);
    }

    /// <summary>
    /// The budget holds the vCPUs whose threads are all gone: a vCPU with a thread again gives its
    /// room back; one without a thread and no room left loses what its gone threads counted.
    /// </summary>
    private void Charge()
    {
        if (_gone.Count == 0)
            return;
        _live.Clear();
        foreach (Thread thread in _threads)
        {
            if (thread.Index >= 0)
                _live.Add(thread.Index);
        }
        foreach ((int index, VcpuStat gone) in _gone)
        {
            bool live = _live.Contains(index);
            if (live && _charged.Remove(index))
                budget.Free++;
            else if (!live && !_charged.Contains(index))
            {
                if (budget.Free > 0)
                {
                    budget.Free--;
                    _charged.Add(index);
                }
                else
                {
                    for (int i = 0; i < Math.Min(budget.ShownFields, gone.Totals.Length); i++)
                        budget.LostEvents += gone.Totals[i];
                    _dropped.Add(index);
                }
            }
        }
        foreach (int index in _dropped)
            _gone.Remove(index);
        _dropped.Clear();
    }

    /// <summary>
    /// The row of <paramref name="key"/> in this sample; at its first thread, the last sample's (its
    /// deltas set to minus its totals then) or a new one (deltas 0: a new row's delta is all it
    /// counted, as a new VM's), its totals and latencies set to what its vCPU's gone threads counted.
    /// </summary>
    private VcpuStat Row(int key, int index, string label, int fields)
    {
        if (_rowByKey.TryGetValue(key, out VcpuStat? row))
            return row;
        if (_lastRowByKey.Remove(key, out row))
        {
            for (int i = 0; i < row.Totals.Length; i++)
                row.Deltas[i] = -row.Totals[i];
        }
        else
        {
            row = new VcpuStat(fields);
        }
        (row.Index, row.Label) = (index, label);
        VcpuStat? gone = index >= 0 ? _gone.GetValueOrDefault(index) : null;
        if (gone is null)
            Array.Clear(row.Totals);
        else
            gone.Totals.CopyTo(row.Totals, 0);
        foreach (LatencyHistogram histogram in row.Latency ?? [])
            histogram.Clear();
        row.Latency = Add(row.Latency, gone?.Latency);
        _rowByKey[key] = row;
        _rows.Add(row);
        return row;
    }

    /// <summary>Adds <paramref name="kinds"/> to <paramref name="into"/> (made when first needed).</summary>
    private static LatencyHistogram[]? Add(LatencyHistogram[]? into, LatencyHistogram[]? kinds)
    {
        if (kinds is null)
            return into;
        into ??= [.. kinds.Select(_ => new LatencyHistogram())];
        for (int kind = 0; kind < kinds.Length; kind++)
            into[kind].Add(kinds[kind]);
        return into;
    }

    private sealed class Thread(int fields)
    {
        internal int Tid { get; set; }

        internal int Index { get; set; }

        internal string Label { get; set; } = "";

        internal long[] Totals { get; } = new long[fields];

        internal LatencyHistogram[]? Latency { get; set; }
    }
}
