using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// The "(outside VMs)" row where the per-VM source counts only VMs (the perf engine: a counter on
/// each VM thread), so that every output's rows add up to the host's totals as the BPF engine's do:
/// what the host counted since the guests' first sample less what their rows (VMs, exited VMs)
/// gained since. Events of processes outside VMs are there, and so are those of VMs whose counters
/// could not open (left out) and of a VM before its counters opened. The host is read after the
/// VMs (<see cref="Sampler"/>), so an event between the two reads is in the host's count first:
/// the row never goes back (a count the VMs catch up with is taken from the row's next gains).
/// </summary>
internal sealed class OutsideRemainder
{
    private readonly FieldSet _fields;
    private int[]? _hostIndex;
    private long[]? _base;
    private readonly long[] _rows;

    internal OutsideRemainder(FieldSet fields)
    {
        _fields = fields;
        _rows = new long[fields.Count];
        Row = new GuestStat(0, GuestStats.LabelOf(VmRowKind.OutsideVms), fields.Count, VmRowKind.OutsideVms);
    }

    internal GuestStat Row { get; }

    /// <summary>Updates <see cref="Row"/> from the host's raw counts (<see cref="StatsCollector.Raw"/>) and the other rows of this sample.</summary>
    internal void Update(FieldSet hostFields, ReadOnlySpan<long> hostRaw, IReadOnlyList<GuestStat> guests, IReadOnlyList<GuestStat> others)
    {
        // The host's field of each guest field, by name once (the perf engine's per-VM fields are the host's parents).
        _hostIndex ??= [.. Enumerable.Range(0, _fields.Count).Select(i => hostFields.IndexOf(_fields[i].Name))];
        Array.Clear(_rows);
        Add(guests);
        Add(others);
        bool first = _base is null;
        _base ??= new long[_fields.Count];
        long total = 0;
        for (int i = 0; i < _fields.Count; i++)
        {
            int host = _hostIndex[i];
            if (host < 0 || _fields[i].Kind != StatKind.Counter)
                continue;
            if (first)
                _base[i] = hostRaw[host] - _rows[i];
            long value = Math.Max(Row.FieldTotals[i], hostRaw[host] - _base[i] - _rows[i]);
            Row.FieldDeltas[i] = value - Row.FieldTotals[i];
            Row.FieldTotals[i] = value;
            if (!_fields.IsChild(i))
                total += value;
        }
        Row.Delta = total - Row.Total;
        Row.Total = total;
    }

    private void Add(IReadOnlyList<GuestStat> rows)
    {
        // By index: a foreach over the interface would box an enumerator at every sample.
        for (int r = 0; r < rows.Count; r++)
        {
            GuestStat row = rows[r];
            if (ReferenceEquals(row, Row))
                continue;
            for (int i = 0; i < _rows.Length; i++)
                _rows[i] += row.FieldTotals[i];
        }
    }
}
