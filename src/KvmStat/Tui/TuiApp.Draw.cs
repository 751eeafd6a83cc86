using System.Globalization;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>Drawing: what every view shares (header, Total, errors), the events view and the help.</summary>
internal sealed partial class TuiApp
{
    private int[] _order = [];
    private int[] _sortedParents = [];
    private bool[] _shown = [];
    private FieldFilter? _shownFor;
    private bool _shownChildren;
    private IFieldValues? _parentsFor;
    private Comparison<int>? _compareFields;
    private readonly char[] _digits = new char[20];

    /// <summary>
    /// A number's digits, for a label written into a span: a number interpolated as itself goes
    /// through a generic append whose interface call boxes it (24 bytes a draw) until the JIT has
    /// optimised that code, which a machine busy with other work may not do for a long time.
    /// </summary>
    private ReadOnlySpan<char> Digits(long value) =>
        value.TryFormat(_digits, out int count, default, CultureInfo.InvariantCulture) ? _digits.AsSpan(0, count) : [];

    /// <summary>Paints the current view into <paramref name="grid"/>.</summary>
    internal void Draw(ScreenGrid grid)
    {
        grid.Clear();
        if (grid.Columns < MinColumns || grid.Rows < MinRows)
        {
            DrawTooSmall(grid);
            return;
        }
        switch (_view)
        {
            case View.Help:
                DrawHelp(grid);
                break;
            case View.Prompt:
                DrawPrompt(grid, _prompt!);
                break;
            case View.Guests:
                DrawGuests(grid);
                break;
            case View.Latency:
                DrawLatency(grid);
                break;
            default:
                DrawMain(grid);
                break;
        }
        if (_view is View.Main or View.Guests or View.Latency)
        {
            if (_error is not null)
                grid.Write(grid.Rows - 1, grid.Write(grid.Rows - 1, 0, "Error: ", TextStyle.Bold), _error, TextStyle.Bold);
            // A notice never hides the guest view's line of VMs left out (a warning that the table is
            // full would stay over it for good); the hint about x is the guest view's alone.
            else if (_notice is not null && !(_view == View.Guests && _sampler?.Snapshot.Guests is { VmsLeftOut: > 0 })
                && (_view == View.Guests || !ReferenceEquals(_notice, VcpusNeedOption)))
                grid.Write(grid.Rows - 1, 0, Text.EscapeControls(_notice));
        }
    }

    private static void DrawTooSmall(ScreenGrid grid)
    {
        string message = $"Terminal too small ({grid.Columns}x{grid.Rows}): kvm_stat needs at least {MinColumns}x{MinRows}.";
        int row = 0;
        for (int at = 0; at < message.Length && row < grid.Rows && grid.Columns > 0; at += grid.Columns)
            grid.Write(row++, 0, message.AsSpan(at, Math.Min(grid.Columns, message.Length - at)));
    }

    private void DrawMain(ScreenGrid grid)
    {
        DrawHeader(grid, Title("kvm statistics"), "Event");
        if (_sampler is null || _sampler.Snapshot.SampleCount < 2)
        {
            if (_error is null)
                grid.Write(4, 1, "Collecting data...");
            return;
        }

        IFieldValues stats = _sampler.Snapshot.Host;
        int rowCount = Arrange(stats);
        (long total, long parentDeltas) = ShownTotal(stats);
        int row = 3;
        for (int r = 0; r < rowCount && row < grid.Rows - 1; r++)
            DrawEventRow(grid, row++, stats, _order[r], total);

        if (row == 3)
        {
            grid.Write(4, 1, "No matching events reported yet");
        }
        else if (row > 4)
        {
            DrawTotal(grid, row, total, parentDeltas, stats.IntervalSeconds);
        }
    }

    /// <summary>
    /// The Total: that of the counters shown, parents only (children are in their parents already),
    /// or the children's where only children count; and the parents' change, for the Total's rate.
    /// </summary>
    private (long Total, long Deltas) ShownTotal(IFieldValues stats)
    {
        FieldSet fields = stats.Fields;
        ReadOnlySpan<long> totals = stats.Totals;
        ReadOnlySpan<long> deltas = stats.Deltas;
        long total = 0, childTotal = 0, parentDeltas = 0;
        for (int i = 0; i < fields.Count; i++)
        {
            if (fields[i].Kind != StatKind.Counter || !_shown[i] || !CountsEvents(fields[i]))
                continue;
            if (!fields.IsChild(i))
            {
                total += totals[i];
                parentDeltas += deltas[i];
            }
            else
            {
                childTotal += totals[i];
            }
        }
        return (total == 0 ? childTotal : total, parentDeltas);
    }

    /// <summary>A field's row: its name (a child's indented), Total, and for counters %Total (of its parent, or of the Total) and CurAvg/s.</summary>
    private static void DrawEventRow(ScreenGrid grid, int row, IFieldValues stats, int i, long total)
    {
        StatField field = stats.Fields[i];
        int parent = stats.Fields.ParentOf(i);
        ReadOnlySpan<long> totals = stats.Totals;
        int column = parent >= 0
            ? grid.WriteLeft(row, grid.Write(row, TableColumn, "  "), field.Name, LabelWidth - 2)
            : grid.WriteLeft(row, TableColumn, field.Name, LabelWidth);
        column = grid.Write(row, column, " ");
        column = grid.WriteRight(row, column, totals[i], 10);
        if (field.Kind != StatKind.Counter)
            return;
        long of = parent >= 0 ? totals[parent] : total;
        if (parent < 0 && !CountsEvents(field))
            column = grid.Write(row, column, "       ");
        else
            column = grid.WriteRight(row, column, of > 0 ? totals[i] * 100.0 / of : 0.0, 7, "F1");
        column = grid.Write(row, column, " ");
        grid.WriteRight(row, column, Rate(stats.Deltas[i], stats.IntervalSeconds), 8);
    }

    /// <summary>
    /// Whether a counter counts events, which the Total adds up: not exit latencies (exits timed,
    /// microseconds), nor a statistic of a unit (nanoseconds waited, bytes), which would drown the events.
    /// </summary>
    private static bool CountsEvents(StatField field) => field.Origin != FieldOrigin.ExitLatency && field.Unit is null;

    /// <summary>
    /// The bold Total row: "%-40s %10d        %8s", the rate left blank where nothing happened in the
    /// interval, and 0 where something did at less than one a second (the reference's "if tcur > 0").
    /// </summary>
    private static void DrawTotal(ScreenGrid grid, int row, long total, long delta, double interval)
    {
        int column = grid.WriteLeft(row, TableColumn, "Total", LabelWidth, TextStyle.Bold);
        column = grid.Write(row, column, " ", TextStyle.Bold);
        column = grid.WriteRight(row, column, total, 10, TextStyle.Bold);
        column = grid.Fill(row, column, 8, ' ', TextStyle.Bold);
        if (delta > 0)
            grid.WriteRight(row, column, Rate(delta, interval), 8, TextStyle.Bold);
    }

    private static long Rate(long delta, double interval) =>
        interval > 0 ? (long)Math.Round(delta / interval, MidpointRounding.ToEven) : 0;

    /// <summary>
    /// Orders the rows to show: non-zero parents by CurAvg/s then Total (or Total alone), each
    /// followed by its non-zero children in the same order when 'x' is on. Which fields the regex
    /// shows is decided once per field set, regex and 'x'. Returns the count.
    /// </summary>
    private int Arrange(IFieldValues stats)
    {
        FieldSet fields = stats.Fields;
        int count = fields.Count;
        if (!ReferenceEquals(_parentsFor, stats) || !ReferenceEquals(_shownFor, _filter) || _shownChildren != _showChildren)
        {
            _parentsFor = stats;
            _order = new int[count];
            _sortedParents = new int[count];
            _compareFields = CompareFields;
            DecideShown(fields);
        }

        ReadOnlySpan<long> totals = stats.Totals;
        ReadOnlySpan<long> deltas = stats.Deltas;
        int parents = 0;
        foreach (int i in fields.TopLevel)
        {
            if (_shown[i] && (totals[i] != 0 || deltas[i] != 0))
                _sortedParents[parents++] = i;
        }
        _sortedParents.AsSpan(0, parents).Sort(_compareFields!);

        int rows = 0;
        for (int p = 0; p < parents; p++)
        {
            int parent = _sortedParents[p];
            _order[rows++] = parent;
            int first = rows;
            foreach (int i in fields.ChildrenOf(parent))
            {
                if (_shown[i] && (totals[i] != 0 || deltas[i] != 0))
                    _order[rows++] = i;
            }
            _order.AsSpan(first, rows - first).Sort(_compareFields!);
        }
        return rows;
    }

    /// <summary>
    /// A child is shown with 'x' when the regex matches it; a parent when the regex matches it or
    /// any of its children, shown or not, as the reference's children pull in their parents.
    /// </summary>
    private void DecideShown(FieldSet fields)
    {
        _shownFor = _filter;
        _shownChildren = _showChildren;
        _shown = new bool[fields.Count];
        foreach (int i in fields.TopLevel)
        {
            _shown[i] = _filter.Matches(fields[i].Name);
            foreach (int child in fields.ChildrenOf(i))
            {
                bool matches = _filter.Matches(fields[child].Name);
                _shown[child] = _showChildren && matches;
                _shown[i] |= matches;
            }
        }
    }

    private int CompareFields(int a, int b)
    {
        // A field's reasons, then its vCPUs: each set adds up to the field, so neither is mixed into the other.
        bool vcpuA = _parentsFor!.Fields[a].IsVcpu, vcpuB = _parentsFor.Fields[b].IsVcpu;
        if (vcpuA != vcpuB)
            return vcpuA ? 1 : -1;
        ReadOnlySpan<long> totals = _parentsFor.Totals;
        ReadOnlySpan<long> deltas = _parentsFor.Deltas;
        if (!_sortByTotal && deltas[a] != deltas[b])
            return deltas[b].CompareTo(deltas[a]);
        if (totals[a] != totals[b])
            return totals[b].CompareTo(totals[a]);
        return string.CompareOrdinal(_parentsFor.Fields[a].Name, _parentsFor.Fields[b].Name);
    }

    private static void DrawHelp(ScreenGrid grid)
    {
        grid.Write(0, 0, "Interactive commands reference", TextStyle.Bold);
        grid.Write(2, 0, "Press any key to exit", TextStyle.Reverse);
        int row = 4;
        foreach (string line in InteractiveCommands.Lines())
            grid.Write(row++, 0, line);
        grid.Write(row++, 0, InteractiveCommands.OtherKeys);
        row++;
        foreach (string line in InteractiveCommands.OtherViews)
            grid.Write(row++, 0, line);
    }
}
