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
    /// <summary>Tells this sample from every other, of any VM: a thread or row marked with it is in this sample.</summary>
    private static long s_samples;
    private long _sample;
    /// <summary>The threads of the last sample: a reading holds what its thread counted when last read.</summary>
    private List<VcpuReading> _threads = [], _nextThreads = [];
    /// <summary>
    /// By vCPU: what its threads that are gone counted, and their exit latencies; with the vCPUs the
    /// budget holds, made when a thread first goes (most VMs never lose one: a dense host keeps
    /// thousands of these).
    /// </summary>
    private Dictionary<int, VcpuStat>? _gone;
    private HashSet<int>? _charged, _live;
    private List<int>? _dropped;
    /// <summary>The rows, in the order of their first thread (then the vCPUs whose threads are all gone), and by key (this sample's and the last's).</summary>
    private readonly List<VcpuStat> _rows = [];
    private readonly Dictionary<int, VcpuStat> _rowByKey = [];

    internal GuestVcpus()
        : this(new GoneVcpuBudget(GoneVcpuBudget.Default))
    {
    }

    internal IReadOnlyList<VcpuStat> Rows => _rows;

    /// <summary>The VM is gone: its gone vCPUs give their room back.</summary>
    internal void Release()
    {
        budget.Free += _charged?.Count ?? 0;
        _charged?.Clear();
        _gone?.Clear();
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
        _sample = Interlocked.Increment(ref s_samples);
        MatchThreads(readings);
        Charge(readings);
        _rows.Clear();
        foreach (VcpuReading thread in _threads)
        {
            VcpuStat row = Row(thread.Index >= 0 ? thread.Index : ~thread.Tid, thread.Index, thread.Label, thread.Values.Length);
            // The last thread names the row (the BPF engine lists a vCPU's threads by thread id).
            row.Tid = thread.Tid;
            for (int i = 0; i < row.Totals.Length; i++)
                row.Totals[i] += thread.Values[i];
            row.Latency = Add(row.Latency, thread.Latency);
            // A thread known by its vCPU only now (the engine asks again while it is not) was its
            // thread id's row until the last sample: what it counted there is no gain of this one.
            if (thread.Index >= 0 && _rowByKey.TryGetValue(~thread.Tid, out VcpuStat? before) && before.Sampled != _sample)
            {
                for (int i = 0; i < row.Deltas.Length; i++)
                    row.Deltas[i] -= before.Totals[i];
            }
        }
        if (_gone is not null)
        {
            foreach ((int index, VcpuStat gone) in _gone)
            {
                if (_rowByKey.GetValueOrDefault(index)?.Sampled != _sample)
                    Row(index, index, gone.Label, gone.Totals.Length).Tid = 0;
            }
        }
        // A row's deltas held minus its last totals: now what it gained (none where a total went
        // down: a vCPU's gone threads beyond the budget).
        foreach (VcpuStat row in _rows)
        {
            for (int i = 0; i < row.Totals.Length; i++)
                row.Deltas[i] = Math.Max(0, row.Deltas[i] + row.Totals[i]);
        }
        // The last sample's rows not in this one go.
        foreach ((int key, VcpuStat row) in _rowByKey)
        {
            if (row.Sampled != _sample)
                _rowByKey.Remove(key);
        }
    }

    /// <summary>What a vCPU's thread that is no longer read counted goes to the vCPU.</summary>
    private void MatchThreads(List<VcpuReading> readings)
    {
        foreach (VcpuReading reading in readings)
        {
            if (reading.Sampled == _sample)
                continue;
            reading.Sampled = _sample;
            _nextThreads.Add(reading);
        }
        foreach (VcpuReading thread in _threads)
        {
            if (thread.Sampled != _sample && thread.Index >= 0)
                Retire(thread);
        }
        (_threads, _nextThreads) = (_nextThreads, _threads);
        _nextThreads.Clear();
    }

    private void Retire(VcpuReading thread)
    {
        _gone ??= [];
        if (!_gone.TryGetValue(thread.Index, out VcpuStat? gone))
            _gone[thread.Index] = gone = new VcpuStat(thread.Values.Length) { Index = thread.Index, Label = thread.Label };
        for (int i = 0; i < gone.Totals.Length; i++)
            gone.Totals[i] += thread.Values[i];
        gone.Latency = Add(gone.Latency, thread.Latency);
    }

    /// <summary>
    /// The budget holds the vCPUs whose threads are all gone: a vCPU with a thread again gives its
    /// room back; one without a thread and no room left loses what its gone threads counted.
    /// </summary>
    private void Charge(List<VcpuReading> readings)
    {
        if (_gone is null || _gone.Count == 0)
            return;
        (_charged, _live, _dropped) = (_charged ?? [], _live ?? [], _dropped ?? []);
        _live.Clear();
        foreach (VcpuReading thread in readings)
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
                    if (budget.Events is int[] events)
                    {
                        foreach (int i in events)
                            budget.LostEvents += gone.Totals[i];
                    }
                    else
                    {
                        foreach (long total in gone.Totals)
                            budget.LostEvents += total;
                    }
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
        if (_rowByKey.TryGetValue(key, out VcpuStat? row) && row.Sampled == _sample)
            return row;
        if (row is not null)
        {
            for (int i = 0; i < row.Totals.Length; i++)
                row.Deltas[i] = -row.Totals[i];
        }
        else
        {
            row = new VcpuStat(fields);
        }
        (row.Index, row.Label, row.Sampled) = (index, label, _sample);
        VcpuStat? gone = index >= 0 ? _gone?.GetValueOrDefault(index) : null;
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
        into ??= [.. kinds.Select(k => new LatencyHistogram(k.Buckets.Length))];
        for (int kind = 0; kind < kinds.Length; kind++)
            into[kind].Add(kinds[kind]);
        return into;
    }
}
