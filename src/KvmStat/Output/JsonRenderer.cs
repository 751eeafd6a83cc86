using System.Buffers;
using System.Text.Json;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// --json: JSON Lines, one object per sample, written with Utf8JsonWriter (any guest name comes
/// out as valid JSON):
/// {"timestamp": ISO 8601, "interval_seconds": real length, ["pid", "name" with -p/-g,]
///  "fields": {NAME: {"total", "delta"} for counters or {"value"} for instant values, "unit"
///  where known, "children": {LABEL: {...}}}, "guests": [{"pid", "name", "fields": {...}}],
///  and with the BPF engine "outside_vms": {...} and "exited_vms": {...}, which with the guests add
///  up to the host's tracepoint fields}.
/// </summary>
internal sealed class JsonRenderer(OutputSink sink, bool skipZeroRecords) : IStatsRenderer
{
    private readonly ArrayBufferWriter<byte> _buffer = new(16384);
    private Utf8JsonWriter? _writer;
    private FieldTree? _hostTree;
    private FieldTree? _guestTree;

    public void Start(Snapshot snapshot)
    {
    }

    public void Reopened(Snapshot snapshot)
    {
    }

    public void Render(Snapshot snapshot)
    {
        IFieldValues host = snapshot.Host;
        IGuestValues? guests = snapshot.Guests;
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
            w.WriteString("name", vm.Name);
        }
        _hostTree ??= new FieldTree(host.Fields);
        w.WritePropertyName("fields");
        _hostTree.Write(w, host.Totals, host.Deltas);
        if (guests is not null)
        {
            _guestTree ??= new FieldTree(guests.Fields);
            w.WriteStartArray("guests");
            foreach (GuestStat guest in guests.Guests)
            {
                w.WriteStartObject();
                w.WriteNumber("pid", guest.Pid);
                w.WriteString("name", guest.Name);
                w.WritePropertyName("fields");
                _guestTree.Write(w, guest.FieldTotals, guest.FieldDeltas);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            // With the BPF engine: what makes the guests add up to the host's fields.
            foreach (GuestStat other in guests.Others)
            {
                w.WritePropertyName(other.Kind == VmRowKind.OutsideVms ? "outside_vms" : "exited_vms");
                _guestTree.Write(w, other.FieldTotals, other.FieldDeltas);
            }
        }
        w.WriteEndObject();
        w.Flush();
        _buffer.Write("\n"u8);
        sink.Write(_buffer.WrittenSpan);
    }

    /// <summary>Fields in name order with their children nested under them.</summary>
    private sealed class FieldTree
    {
        private readonly IReadOnlyList<StatField> _fields;
        private readonly int[] _parents;
        private readonly int[][] _children;

        internal FieldTree(IReadOnlyList<StatField> fields)
        {
            _fields = fields;
            var byName = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < fields.Count; i++)
                byName.TryAdd(fields[i].Name, i);
            var children = new List<int>[fields.Count];
            var parents = new List<int>();
            for (int i = 0; i < fields.Count; i++)
            {
                if (fields[i].Parent is string parent && byName.TryGetValue(parent, out int p))
                    (children[p] ??= []).Add(i);
                else
                    parents.Add(i);
            }
            Comparison<int> byFieldName = (a, b) => string.CompareOrdinal(fields[a].Name, fields[b].Name);
            parents.Sort(byFieldName);
            _parents = [.. parents];
            _children = new int[fields.Count][];
            for (int i = 0; i < fields.Count; i++)
            {
                children[i]?.Sort(byFieldName);
                _children[i] = children[i] is { } list ? [.. list] : [];
            }
        }

        internal void Write(Utf8JsonWriter w, ReadOnlySpan<long> totals, ReadOnlySpan<long> deltas)
        {
            w.WriteStartObject();
            foreach (int i in _parents)
            {
                w.WritePropertyName(_fields[i].Name);
                WriteField(w, i, totals, deltas);
            }
            w.WriteEndObject();
        }

        private void WriteField(Utf8JsonWriter w, int i, ReadOnlySpan<long> totals, ReadOnlySpan<long> deltas)
        {
            StatField field = _fields[i];
            w.WriteStartObject();
            if (field.Kind == StatKind.Counter)
            {
                w.WriteNumber("total", totals[i]);
                w.WriteNumber("delta", deltas[i]);
            }
            else
            {
                w.WriteNumber("value", totals[i]);
            }
            if (field.Unit is string unit)
                w.WriteString("unit", unit);
            if (_children[i].Length > 0)
            {
                w.WriteStartObject("children");
                foreach (int child in _children[i])
                {
                    w.WritePropertyName(_fields[child].ChildLabel);
                    WriteField(w, child, totals, deltas);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
    }
}
