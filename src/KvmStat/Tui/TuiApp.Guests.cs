using System.Globalization;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>The per-guest view ('b'): a row per VM, ordered like the events, one selected to show on its own.</summary>
internal sealed partial class TuiApp
{
    private readonly List<GuestStat> _sortedGuests = [];
    private readonly List<int> _vcpuParents = [];

    /// <summary>Where a guest's or vCPU's row label is formatted: a draw allocates nothing.</summary>
    private readonly char[] _label = new char[128];

    private Comparison<GuestStat>? _guestOrder;

    /// <summary>The arrow, page, Home and End keys move the selection, which stays on a guest.</summary>
    private void MoveSelection(KeyKind kind)
    {
        int count = _sampler?.Snapshot.Guests?.Guests.Count ?? 0;
        _selectedGuest = kind switch
        {
            KeyKind.Up => _selectedGuest - 1,
            KeyKind.Down => _selectedGuest + 1,
            KeyKind.PageUp => _selectedGuest - 10,
            KeyKind.PageDown => _selectedGuest + 10,
            KeyKind.Home => 0,
            _ => count - 1,
        };
        _selectedGuest = Math.Clamp(_selectedGuest, 0, Math.Max(0, count - 1));
    }

    /// <summary>The guests ordered like the events: by CurAvg/s then Total (or Total alone), then pid.</summary>
    private List<GuestStat> SortedGuests(IGuestValues guests)
    {
        _sortedGuests.Clear();
        _sortedGuests.AddRange(guests.Guests);
        _guestOrder ??= (a, b) =>
        {
            if (!_sortByTotal && a.Delta != b.Delta)
                return b.Delta.CompareTo(a.Delta);
            if (a.Total != b.Total)
                return b.Total.CompareTo(a.Total);
            return a.Pid.CompareTo(b.Pid);
        };
        _sortedGuests.Sort(_guestOrder);
        return _sortedGuests;
    }

    private void DrawGuests(ScreenGrid grid)
    {
        DrawHeader(grid, "kvm statistics - per guest", "Guest Name [pid]");
        IGuestValues? all = _sampler?.Snapshot.Guests;
        if (all is null || all.SampleCount < 2)
        {
            if (_error is null)
                grid.Write(4, 1, "Collecting data...");
            return;
        }
        List<GuestStat> guests = SortedGuests(all);
        (long total, long deltas, int others) = HostTotals(guests, all.Others);
        double interval = all.IntervalSeconds;
        // With 'x' and --vcpus, each guest's vCPUs under it, as children under their parent.
        IReadOnlyList<int> vcpuFields = _showChildren ? all.VcpuFields : [];
        SetVcpuParents(all, vcpuFields);
        // The other rows stay in view below the guests, however many guests there are: they make
        // the Total the host's, and (unattributed) must never scroll out of sight.
        int guestRows = Math.Max(1, grid.Rows - 5 - others);
        int first = FirstInView(guests, vcpuFields, guestRows);
        int row = 3;
        for (int g = first; g < guests.Count && row < 3 + guestRows; g++)
        {
            GuestStat guest = guests[g];
            DrawGuestRow(grid, row, GuestLabel(guest), guest, total, interval);
            if (g == _selectedGuest)
                grid.Style(row, TableColumn, TableWidth, TextStyle.Reverse);
            row++;
            if (vcpuFields.Count > 0)
                row = DrawVcpuRows(grid, row, 3 + guestRows, guest, interval);
        }
        for (int i = 0; i < all.Others.Count; i++)
        {
            GuestStat other = all.Others[i];
            if ((other.Total != 0 || other.Delta != 0) && row < grid.Rows - 2)
                DrawGuestRow(grid, row++, other.Name, other, total, interval);
        }
        if (row == 3)
        {
            grid.Write(4, 1, "No running guests found");
            return;
        }
        DrawTotal(grid, row, total, deltas, interval);
        // VMs the engine cannot count are never out of sight: the line takes the keys' place.
        if (all.VmsLeftOut > 0)
        {
            // In parts: a draw allocates nothing.
            int at = grid.WriteRight(grid.Rows - 1, 0, all.VmsLeftOut, 0, TextStyle.Reverse);
            at = grid.Write(grid.Rows - 1, at, " running VMs left out: ", TextStyle.Reverse);
            grid.Write(grid.Rows - 1, at, all.LeftOutCause, TextStyle.Reverse);
        }
        else if (row + 1 < grid.Rows - 1)
            grid.Write(grid.Rows - 1, 0, all.VcpuFields.Count > 0
                ? "Up/Down: select   Enter: events of the selected guest   x: vCPUs   b: back"
                : "Up/Down: select   Enter: events of the selected guest   b: back");
    }

    /// <summary>
    /// The other rows (events outside VMs, of VMs that exited, with BPF of processes it had no
    /// room to tell apart) make the Total the host's; those with events are shown.
    /// </summary>
    private static (long Total, long Deltas, int ShownOthers) HostTotals(List<GuestStat> guests, IReadOnlyList<GuestStat> others)
    {
        long total = 0, deltas = 0;
        int shown = 0;
        foreach (GuestStat guest in guests)
        {
            total += guest.Total;
            deltas += guest.Delta;
        }
        for (int i = 0; i < others.Count; i++)
        {
            GuestStat other = others[i];
            total += other.Total;
            deltas += other.Delta;
            if (other.Total != 0 || other.Delta != 0)
                shown++;
        }
        return (total, deltas, shown);
    }

    /// <summary>Which of the vCPU fields a guest's row adds up (parent counters), so that a vCPU's row is a share of it.</summary>
    private void SetVcpuParents(IGuestValues all, IReadOnlyList<int> vcpuFields)
    {
        _vcpuParents.Clear();
        for (int i = 0; i < vcpuFields.Count; i++)
        {
            if (!all.Fields.IsChild(vcpuFields[i]) && all.Fields[vcpuFields[i]].Kind == StatKind.Counter)
                _vcpuParents.Add(i);
        }
    }

    /// <summary>The first guest drawn: the selection stays in view, scrolled to when it is below the last data row.</summary>
    private int FirstInView(List<GuestStat> guests, IReadOnlyList<int> vcpuFields, int capacity)
    {
        int first = Math.Min(_selectedGuest, Math.Max(0, guests.Count - 1));
        for (int used = guests.Count > 0 ? RowsOf(guests[first], vcpuFields) : 0;
             first > 0 && used + RowsOf(guests[first - 1], vcpuFields) <= capacity;)
            used += RowsOf(guests[--first], vcpuFields);
        return first;
    }

    /// <summary>"name [pid]": the name escaped and cut at 30 characters.</summary>
    private ReadOnlySpan<char> GuestLabel(GuestStat guest)
    {
        string name = Text.Escape(guest.Name);
        ReadOnlySpan<char> shown = name.Length > 30 ? name.AsSpan(0, 30) : name;
        string cut = name.Length > 30 ? "..." : "";
        int written;
        bool fits = name.Length > 0
            ? _label.AsSpan().TryWrite(CultureInfo.InvariantCulture, $"{shown}{cut} [{Digits(guest.Pid)}]", out written)
            : _label.AsSpan().TryWrite(CultureInfo.InvariantCulture, $"[{Digits(guest.Pid)}]", out written);
        return _label.AsSpan(0, fits ? written : 0);
    }

    private static void DrawGuestRow(ScreenGrid grid, int row, ReadOnlySpan<char> label, GuestStat guest, long total, double interval) =>
        DrawRow(grid, row, label, guest.Total, total, guest.Delta, interval);

    private static void DrawRow(ScreenGrid grid, int row, ReadOnlySpan<char> label, long value, long total, long delta, double interval)
    {
        int column = grid.WriteLeft(row, TableColumn, label, LabelWidth);
        column = grid.Write(row, column, " ");
        column = grid.WriteRight(row, column, value, 10);
        column = grid.WriteRight(row, column, total > 0 ? value * 100.0 / total : 0.0, 7, "F1");
        column = grid.Write(row, column, " ");
        grid.WriteRight(row, column, Rate(delta, interval), 8);
    }

    /// <summary>A guest's row and its vCPUs' rows.</summary>
    private static int RowsOf(GuestStat guest, IReadOnlyList<int> vcpuFields) => 1 + (vcpuFields.Count > 0 ? guest.Vcpus.Count : 0);

    /// <summary>
    /// A guest's vCPUs, indented, with %Total relative to the guest: each vCPU's events (its
    /// threads that are gone included, as its children in one VM's view keep them) and their rate,
    /// named by its newest thread.
    /// </summary>
    private int DrawVcpuRows(ScreenGrid grid, int row, int end, GuestStat guest, double interval)
    {
        // By index: an interface's enumerator would allocate at every draw.
        for (int v = 0; v < guest.Vcpus.Count; v++)
        {
            if (row >= end)
                return row;
            VcpuStat vcpu = guest.Vcpus[v];
            long value = 0, delta = 0;
            foreach (int i in _vcpuParents)
            {
                value += vcpu.Totals[i];
                delta += vcpu.Deltas[i];
            }
            int written;
            bool fits = vcpu.Index >= 0 && vcpu.Tid != 0
                ? _label.AsSpan().TryWrite(CultureInfo.InvariantCulture, $"  {vcpu.Label} [{Digits(vcpu.Tid)}]", out written)
                : _label.AsSpan().TryWrite(CultureInfo.InvariantCulture, $"  {vcpu.Label}", out written);
            DrawRow(grid, row++, _label.AsSpan(0, fits ? written : 0), value, guest.Total, delta, interval);
        }
        return row;
    }
}
