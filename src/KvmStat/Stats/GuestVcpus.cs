using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// A VM's vCPUs over its threads, summed once per sample so that every output shows the same
/// quantity: a row per vCPU (its threads now and what those gone counted), per thread of no known
/// vCPU, and per vCPU whose threads are all gone. A vCPU's delta is what its row gained.
/// </summary>
internal sealed class GuestVcpus(GoneVcpuBudget budget)
{
    /// <summary>The threads of the last sample, with what they counted then.</summary>
    private readonly List<Thread> _threads = [];
    /// <summary>By vCPU: what its threads that are gone counted, and their exit latencies.</summary>
    private readonly Dictionary<int, VcpuStat> _gone = [];
    private List<VcpuStat> _rows = [];
    private List<VcpuStat> _previous = [];

    internal GuestVcpus()
        : this(new GoneVcpuBudget(GoneVcpuBudget.Default))
    {
    }

    internal IReadOnlyList<VcpuStat> Rows => _rows;

    /// <summary>The VM is gone: its gone vCPUs give their room back.</summary>
    internal void Release()
    {
        budget.Free += _gone.Count;
        _gone.Clear();
    }

    internal void Sample(List<VcpuReading> readings)
    {
        if (readings.Count == 0 && _threads.Count == 0 && _rows.Count == 0)
            return;
        MatchThreads(readings);
        (_previous, _rows) = (_rows, _previous);
        _rows.Clear();
        // Threads come by vCPU: those of one vCPU are next to each other.
        for (int first = 0, next; first < _threads.Count; first = next)
        {
            Thread newest = _threads[first];
            for (next = first + 1; newest.Index >= 0 && next < _threads.Count && _threads[next].Index == newest.Index; next++)
                newest = _threads[next];
            VcpuStat row = Row(newest.Index >= 0 ? newest.Index : ~newest.Tid, newest.Totals.Length, out bool isNew);
            (row.Index, row.Tid, row.Label) = (newest.Index, newest.Tid, newest.Label);
            Sum(row, isNew, newest.Index >= 0 ? _gone.GetValueOrDefault(newest.Index) : null, first, next);
        }
        foreach ((int index, VcpuStat gone) in _gone)
        {
            if (HasThread(index))
                continue;
            VcpuStat row = Row(index, gone.Totals.Length, out bool isNew);
            (row.Index, row.Tid, row.Label) = (index, 0, gone.Label);
            Sum(row, isNew, gone, 0, 0);
        }
        _previous.Clear();
    }

    /// <summary>Each thread keeps its entry while it runs; what a vCPU's thread that is gone counted goes to the vCPU.</summary>
    private void MatchThreads(List<VcpuReading> readings)
    {
        int kept = _threads.Count;
        foreach (Thread thread in _threads)
            thread.Seen = false;
        foreach (VcpuReading reading in readings)
        {
            Thread? thread = null;
            for (int t = 0; t < kept && thread is null; t++)
            {
                // Seen: a tid twice in one reading (a thread's row retaken while its old one is listed) is two entries, never one summed twice.
                if (_threads[t].Tid == reading.Tid && !_threads[t].Seen)
                    thread = _threads[t];
            }
            thread ??= new Thread(reading.Values.Length);
            reading.Values.CopyTo(thread.Totals, 0);
            (thread.Index, thread.Tid, thread.Label, thread.Latency, thread.Seen) = (reading.Index, reading.Tid, reading.Label, reading.Latency, true);
            _threads.Add(thread);
        }
        for (int i = 0; i < kept; i++)
        {
            if (_threads[i] is { Seen: false, Index: >= 0 } gone)
                Retire(gone);
        }
        // The entries of this sample, in the reading's order; threads that are gone leave.
        _threads.RemoveRange(0, kept);
    }

    private void Retire(Thread thread)
    {
        if (!_gone.TryGetValue(thread.Index, out VcpuStat? gone))
        {
            if (budget.Free == 0)
            {
                for (int i = 0; i < Math.Min(budget.ShownFields, thread.Totals.Length); i++)
                    budget.LostEvents += thread.Totals[i];
                return;
            }
            budget.Free--;
            _gone[thread.Index] = gone = new VcpuStat(thread.Totals.Length) { Index = thread.Index, Label = thread.Label };
        }
        for (int i = 0; i < gone.Totals.Length; i++)
            gone.Totals[i] += thread.Totals[i];
        gone.Latency = Add(gone.Latency, thread.Latency);
    }

    private bool HasThread(int index)
    {
        foreach (Thread thread in _threads)
        {
            if (thread.Index == index)
                return true;
        }
        return false;
    }

    /// <summary>The row of <paramref name="key"/> at the last sample (its totals are where its delta starts), or a new one.</summary>
    private VcpuStat Row(int key, int fields, out bool isNew)
    {
        VcpuStat? row = null;
        for (int r = 0; r < _previous.Count && row is null; r++)
        {
            if (_previous[r].Key == key)
            {
                row = _previous[r];
                _previous.RemoveAt(r);
            }
        }
        isNew = row is null;
        row ??= new VcpuStat(fields);
        _rows.Add(row);
        return row;
    }

    /// <summary>
    /// The row's totals: <paramref name="gone"/>'s and threads [first, next)'s; its deltas: what the
    /// totals gained (a new row's all it counted, as a new VM's; none where a total went down, which
    /// no engine does: a vCPU's gone threads stay in it).
    /// </summary>
    private void Sum(VcpuStat row, bool isNew, VcpuStat? gone, int first, int next)
    {
        for (int i = 0; i < row.Totals.Length; i++)
        {
            long total = gone?.Totals[i] ?? 0;
            for (int t = first; t < next; t++)
                total += _threads[t].Totals[i];
            row.Deltas[i] = isNew ? total : Math.Max(0, total - row.Totals[i]);
            row.Totals[i] = total;
        }
        foreach (LatencyHistogram histogram in row.Latency ?? [])
            histogram.Clear();
        row.Latency = Add(row.Latency, gone?.Latency);
        for (int t = first; t < next; t++)
            row.Latency = Add(row.Latency, _threads[t].Latency);
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

        internal bool Seen { get; set; }
    }
}
