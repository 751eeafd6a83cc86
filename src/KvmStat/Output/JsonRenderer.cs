using System.Buffers;
using System.Text.Json;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// --json: JSON Lines, one object per sample, written with Utf8JsonWriter (any guest name comes
/// out as valid JSON):
/// {"timestamp": ISO 8601, "interval_seconds": real length, ["pid", "name" with -p/-g,]
///  "fields": {NAME: {"total", "delta"} for counters or {"value"} for instant values, "unit"
///  where known, "children": {LABEL: {...}}}, "guests": [{"pid", "name", "fields": {...}}, with
///  --vcpus "vcpus": {LABEL: {"tid", "fields": {...}}} (see <see cref="JsonVcpus"/>)],
///  with the BPF engine "outside_vms", "exited_vms" and "unattributed" ({...}; with debugfs "exited_vms"), which with the guests
///  add up to the host's tracepoint fields (there a counter that never counted is left out: absent is 0), and with binary statistics "binary_stats": [{"pid",
///  "name", "vm": {...}, "vcpus": [{"vcpu", "stats": {...}}]}], each statistic as KVM keeps it since
///  its VM started: {"total"} (cumulative) or {"value"}, "unit", or for a histogram "buckets":
///  [{"le", "count"}] (cumulative counts, upper bounds in its unit; the last is open) and p50/p90/p99}.
///  Sources that could not be read at the sample: "down": [{"source", "target", "problem"}] (absent while all read).
///  With --guest-fields (<paramref name="guestFilter"/>) the guests have only the fields it matches
///  (with their children), the rows beside them every field; -f (<paramref name="filter"/>) chooses the
///  binary statistics as it chooses the exporter's.
/// </summary>
internal sealed class JsonRenderer(OutputSink sink, bool skipZeroRecords, FieldFilter? guestFilter = null, FieldFilter? filter = null) : IStatsRenderer
{
    private bool[]? _guestShown;
    private FieldSet? _guestShownFor;
    private bool[]? _guestReasons;
    private ExitLatencies? _guestReasonsFor;

    private readonly ArrayBufferWriter<byte> _buffer = new(16384);

    // Names encoded once per field set (the host's, the guests'): thousands of guests a record
    // would otherwise encode and check every name again.
    private static readonly JsonEncodedText s_total = JsonEncodedText.Encode("total"), s_delta = JsonEncodedText.Encode("delta"),
        s_value = JsonEncodedText.Encode("value"), s_unit = JsonEncodedText.Encode("unit"), s_children = JsonEncodedText.Encode("children");
    private FieldSet? _hostNamesFor, _guestNamesFor;
    private JsonEncodedText[] _hostNames = [], _guestNames = [];
    private Utf8JsonWriter? _writer;

    public void Start(Snapshot snapshot)
    {
    }

    public void Reopened(Snapshot snapshot)
    {
    }

    public void Render(Snapshot snapshot)
    {
        IFieldValues host = snapshot.Host;
        if (skipZeroRecords && !Counts.AnyNonZero(host.Deltas))
            return;
        _buffer.ResetWrittenCount();
        if (_writer is null)
            _writer = new Utf8JsonWriter(_buffer);
        else
            _writer.Reset(_buffer);
        Utf8JsonWriter w = _writer;

        w.WriteStartObject();
        w.WriteString("timestamp", snapshot.Time);
        w.WriteNumber("interval_seconds", Math.Round(host.IntervalSeconds, 6));
        if (snapshot.Vm is WatchedVm vm)
        {
            w.WriteNumber("pid", vm.Pid);
            w.WriteString("name", Text.Cut(vm.Name));
        }
        w.WritePropertyName("fields");
        if (!ReferenceEquals(_hostNamesFor, host.Fields))
            (_hostNamesFor, _hostNames) = (host.Fields, Encode(host.Fields));
        WriteFields(w, host.Fields, _hostNames, host.Totals, host.Deltas);
        if (snapshot.Guests is IGuestValues guests)
            WriteGuests(w, guests, snapshot.Latencies);
        if (snapshot.Latencies is ExitLatencies latencies)
        {
            w.WriteStartObject("exit_latency");
            w.WriteString("entry", latencies.Entry);
            w.WriteNumber("lost", latencies.Lost);
            w.WritePropertyName("reasons");
            JsonLatencies.Write(w, latencies, snapshot.Vm is WatchedVm one ? latencies.Vms.GetValueOrDefault(one.Pid) : latencies.Host);
            w.WriteEndObject();
        }
        if (snapshot.Binary is IReadOnlyList<VmStatsBlocks> binary)
            WriteBinary(w, binary);
        JsonHealth.WriteDown(w, snapshot.Health);
        w.WriteEndObject();
        w.Flush();
        _buffer.Write("\n"u8);
        sink.Write(_buffer.WrittenSpan);
    }

    /// <summary>Which VMs are left out ("left_out": [{"pid", "name"}]): an operator can tell which guests are not shown.</summary>
    private static void WriteLeftOut(Utf8JsonWriter w, IReadOnlyList<(int Pid, string Name)> leftOut)
    {
        if (leftOut.Count == 0)
            return;
        w.WriteStartArray("left_out");
        for (int i = 0; i < leftOut.Count; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("pid", leftOut[i].Pid);
            w.WriteString("name", Text.Cut(leftOut[i].Name));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private void WriteGuests(Utf8JsonWriter w, IGuestValues guests, ExitLatencies? latencies)
    {
        if (guestFilter is not null && !ReferenceEquals(_guestShownFor, guests.Fields))
            (_guestShownFor, _guestShown) = (guests.Fields, guestFilter.KeepsEach(guests.Fields));
        if (guestFilter is not null && latencies is not null && !ReferenceEquals(_guestReasonsFor, latencies))
            (_guestReasonsFor, _guestReasons) = (latencies, guestFilter.KeepsEach(latencies.Fields));
        bool[]? shown = guestFilter is null ? null : _guestShown;
        if (!ReferenceEquals(_guestNamesFor, guests.Fields))
            (_guestNamesFor, _guestNames) = (guests.Fields, Encode(guests.Fields));
        w.WriteStartArray("guests");
        // By index: a foreach over the interface would box an enumerator at every record.
        for (int g = 0; g < guests.Guests.Count; g++)
        {
            GuestStat guest = guests.Guests[g];
            w.WriteStartObject();
            w.WriteNumber("pid", guest.Pid);
            w.WriteString("name", Text.Cut(guest.Name));
            w.WritePropertyName("fields");
            WriteFields(w, guests.Fields, _guestNames, guest.FieldTotals, guest.FieldDeltas, shown, counted: true);
            if (latencies is not null)
            {
                w.WritePropertyName("exit_latency");
                JsonLatencies.Write(w, latencies, latencies.Vms.GetValueOrDefault(guest.Pid), guestFilter is null ? null : _guestReasons);
            }
            if (guests.VcpuFields.Count > 0)
                JsonVcpus.Write(w, guests, _guestNames, guest, shown);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (guests.VcpuFields.Count > 0)
        {
            w.WriteNumber("vcpus_lost", guests.VcpusLost);
            w.WriteNumber("vcpu_reasons_lost", guests.VcpuReasonsLost);
        }
        // The perf engine's VMs whose counters could not open (absent is 0, as for every count here).
        if (guests.VmsLeftOut > 0)
            w.WriteNumber("vms_left_out", guests.VmsLeftOut);
        WriteLeftOut(w, guests.LeftOut);
        // With the BPF engine: what makes the guests add up to the host's fields. Every field, also
        // those --guest-fields leaves out of the guests: a few rows, and what no guest was given is never hidden.
        for (int o = 0; o < guests.Others.Count; o++)
        {
            GuestStat other = guests.Others[o];
            w.WritePropertyName(other.Kind switch
            {
                VmRowKind.OutsideVms => "outside_vms",
                VmRowKind.ExitedVms => "exited_vms",
                _ => "unattributed",
            });
            WriteFields(w, guests.Fields, _guestNames, other.FieldTotals, other.FieldDeltas, counted: true);
        }
    }

    /// <summary>Each field's name as it is written: a top-level field's name, a child's label.</summary>
    private static JsonEncodedText[] Encode(FieldSet fields) =>
        [.. Enumerable.Range(0, fields.Count).Select(i => JsonEncodedText.Encode(fields.IsChild(i) ? fields[i].ChildLabel : fields[i].Name))];

    /// <param name="counted">Only the counters that counted (total or delta not 0), and gauges: a guest's fields, which
    /// thousands of guests times a hundred fields would make mostly zeros (an absent counter is 0).</param>
    internal static void WriteFields(Utf8JsonWriter w, FieldSet fields, JsonEncodedText[] names, ReadOnlySpan<long> totals, ReadOnlySpan<long> deltas,
        bool[]? shown = null, bool counted = false)
    {
        w.WriteStartObject();
        foreach (int i in fields.TopLevel)
        {
            if (shown is not null && !shown[i])
                continue;
            if (counted && NeverCounted(fields, i, totals, deltas))
                continue;
            w.WritePropertyName(names[i]);
            WriteField(w, fields, names, i, totals, deltas, counted, shown);
        }
        w.WriteEndObject();
    }

    private static bool NeverCounted(FieldSet fields, int i, ReadOnlySpan<long> totals, ReadOnlySpan<long> deltas) =>
        fields[i].Kind == StatKind.Counter && totals[i] == 0 && deltas[i] == 0;

    private static void WriteField(Utf8JsonWriter w, FieldSet fields, JsonEncodedText[] names, int i, ReadOnlySpan<long> totals, ReadOnlySpan<long> deltas,
        bool counted = false, bool[]? shown = null)
    {
        StatField field = fields[i];
        w.WriteStartObject();
        if (field.Kind == StatKind.Counter)
        {
            w.WriteNumber(s_total, totals[i]);
            w.WriteNumber(s_delta, deltas[i]);
        }
        else
        {
            w.WriteNumber(s_value, totals[i]);
        }
        if (field.Unit is string unit)
            w.WriteString(s_unit, unit);
        if (fields.ChildrenOf(i).Length > 0)
        {
            w.WriteStartObject(s_children);
            foreach (int child in fields.ChildrenOf(i))
            {
                if ((counted && NeverCounted(fields, child, totals, deltas)) || (shown is not null && !shown[child]))
                    continue;
                w.WritePropertyName(names[child]);
                WriteField(w, fields, names, child, totals, deltas, counted, shown);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private void WriteBinary(Utf8JsonWriter w, IReadOnlyList<VmStatsBlocks> vms)
    {
        w.WriteStartArray("binary_stats");
        foreach (VmStatsBlocks vm in vms)
        {
            w.WriteStartObject();
            w.WriteNumber("pid", vm.Pid);
            w.WriteString("name", Text.Cut(vm.Name ?? ""));
            foreach (IStatsBlock block in vm.Blocks)
            {
                if (block.VcpuIndex < 0)
                {
                    w.WritePropertyName("vm");
                    WriteBlock(w, block, filter);
                }
            }
            w.WriteStartArray("vcpus");
            foreach (IStatsBlock block in vm.Blocks)
            {
                if (block.VcpuIndex < 0)
                    continue;
                w.WriteStartObject();
                w.WriteNumber("vcpu", block.VcpuIndex);
                w.WritePropertyName("stats");
                WriteBlock(w, block, filter);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>A block's statistics as KVM keeps them: raw values in the unit their descriptor names.</summary>
    private static void WriteBlock(Utf8JsonWriter w, IStatsBlock block, FieldFilter? filter)
    {
        w.WriteStartObject();
        foreach (KvmStatDescriptor d in block.Descriptors)
        {
            if (filter is not null && !filter.Matches(d.Name))
                continue;
            ReadOnlySpan<ulong> values = block.Values(d);
            w.WriteStartObject(d.Name);
            if (d.IsHistogram)
                WriteHistogram(w, d, values);
            else
                w.WriteNumber(d.Type == KvmStatType.Cumulative ? "total" : "value", values.IsEmpty ? 0 : values[0]);
            if (d.UnitName is string unit)
                w.WriteString("unit", unit);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteHistogram(Utf8JsonWriter w, KvmStatDescriptor d, ReadOnlySpan<ulong> buckets)
    {
        w.WriteStartArray("buckets");
        ulong cumulative = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            cumulative += buckets[i];
            w.WriteStartObject();
            if (i < buckets.Length - 1)
                w.WriteNumber("le", d.BucketHigh(i));
            else
                w.WriteNull("le");
            w.WriteNumber("count", cumulative);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        foreach ((string label, double fraction) in Percentiles.Shown)
            w.WriteNumber(label, Math.Round(d.Percentile(buckets, fraction), 3));
    }
}
