using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>The per-guest view ('b'): a row per VM, ordered like the events, one selected to show on its own.</summary>
internal sealed partial class TuiApp
{
    private readonly List<GuestStat> _sortedGuests = [];

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
        _sortedGuests.Sort((a, b) =>
        {
            if (!_sortByTotal && a.Delta != b.Delta)
                return b.Delta.CompareTo(a.Delta);
            if (a.Total != b.Total)
                return b.Total.CompareTo(a.Total);
            return a.Pid.CompareTo(b.Pid);
        });
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
        // With the BPF engine the other rows (events outside VMs, of VMs that exited, of processes it
        // had no room to tell apart) make the Total the host's.
        long total = 0, deltas = 0;
        foreach (GuestStat guest in guests.Concat(all.Others))
        {
            total += guest.Total;
            deltas += guest.Delta;
        }
        double interval = all.IntervalSeconds;
        // Keep the selection in view: scroll when it is below the last data row.
        int capacity = Math.Max(1, grid.Rows - 5);
        int first = Math.Max(0, _selectedGuest - capacity + 1);
        int row = 3;
        for (int g = first; g < guests.Count && row < grid.Rows - 2; g++)
        {
            GuestStat guest = guests[g];
            string name = Text.Escape(guest.Name);
            if (name.Length > 30)
                name = name[..30] + "...";
            DrawGuestRow(grid, row, name.Length > 0 ? $"{name} [{guest.Pid}]" : $"[{guest.Pid}]", guest, total, interval);
            if (g == _selectedGuest)
                grid.Style(row, TableColumn, TableWidth, TextStyle.Reverse);
            row++;
        }
        foreach (GuestStat other in all.Others)
        {
            if ((other.Total != 0 || other.Delta != 0) && row < grid.Rows - 2)
                DrawGuestRow(grid, row++, other.Name, other, total, interval);
        }
        if (row == 3)
        {
            grid.Write(4, 1, "No running guests found");
            return;
        }
        DrawTotal(grid, row, total, Rate(deltas, interval));
        if (row + 1 < grid.Rows - 1)
            grid.Write(grid.Rows - 1, 0, "Up/Down: select   Enter: events of the selected guest   b: back");
    }

    private static void DrawGuestRow(ScreenGrid grid, int row, string label, GuestStat guest, long total, double interval)
    {
        int column = grid.WriteLeft(row, TableColumn, label, LabelWidth);
        column = grid.Write(row, column, " ");
        column = grid.WriteRight(row, column, guest.Total, 10);
        column = grid.WriteRight(row, column, total > 0 ? guest.Total * 100.0 / total : 0.0, 7, "F1");
        column = grid.Write(row, column, " ");
        grid.WriteRight(row, column, Rate(guest.Delta, interval), 8);
    }
}
