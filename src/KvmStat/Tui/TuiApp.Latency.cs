using System.Globalization;
using KvmStat.Sources;

namespace KvmStat.Tui;

/// <summary>
/// The latency view ('l'): how long each kind of exit kept vCPUs out of the selected guest (or of
/// every guest) in the last interval. In a run without --latency, 'l' starts measuring and 'l'
/// again stops it: measuring costs every exit, and where kvm_entry never fires every system call
/// of the host, so it runs only while the view is asked for.
/// </summary>
internal sealed partial class TuiApp
{
    /// <summary>"%-24s %8s %8s %8s %8s %8s %6s": reason, Exits/s, mean, p50, p90, p99 (µs), %Time.</summary>
    private const int ReasonWidth = 24, NumberWidth = 8, ShareWidth = 6;

    private const string MeasuringStopped = "exit latencies: measuring stopped (l starts it again)";

    private readonly LatencyRows _latencyRows = new();
    private bool _latency;
    /// <summary>Measuring was asked for on the command line (--latency): it goes on whatever the view.</summary>
    private bool _latencyAsked;
    /// <summary>The view was opened from the guest view, for its selected guest: 'l' goes back there.</summary>
    private bool _latencyFromGuests;

    internal bool ShowsLatency => _view == View.Latency;

    /// <summary>
    /// 'l': to the latency view and back. Measuring starts with the view (where it cannot, the last
    /// row says why) and, unless --latency asked for it, stops when the view is left.
    /// </summary>
    private void ToggleLatency()
    {
        if (_view == View.Latency && _latencyFromGuests)
        {
            // Back to the guests, all of them.
            _latencyFromGuests = false;
            _pid = 0;
            _guestName = null;
            _view = View.Guests;
            Reopen();
            return;
        }
        if (_view == View.Latency)
        {
            _view = View.Main;
            if (_latencyAsked || !_latency)
            {
                RefreshNow();
                return;
            }
            _latency = false;
            Reopen();
            _notice = MeasuringStopped;
            return;
        }
        // Measuring again: what said it stopped no longer holds.
        if (ReferenceEquals(_notice, MeasuringStopped))
            _notice = null;
        bool reopen = !_latency || _view == View.Guests;
        if (_view == View.Guests && _sampler?.Snapshot.Guests is { Guests.Count: > 0 } guests)
        {
            // The selected guest's exits, as Enter shows its events.
            _pid = SortedGuests(guests)[_selectedGuest].Pid;
            _guestName = _backend.NameOf(_pid);
            _guestDead = false;
            _latencyFromGuests = true;
        }
        _view = View.Latency;
        if (!reopen)
        {
            RefreshNow();
            return;
        }
        _latency = true;
        Reopen();
        if (_error is not null)
        {
            // Counting goes on as before; the reason stays on the last row.
            string why = _error;
            _latency = false;
            Reopen();
            _notice = why;
        }
        else if (_sampler is { Snapshot.Latencies: null })
        {
            // The engine cannot time exits here (BPF is not available, or lacks what latencies need): counting goes on, untimed.
            _latency = false;
            _notice = NoBpfEngine;
        }
    }

    /// <summary>The histograms the view shows: the watched VM's, or every process's.</summary>
    private Dictionary<int, LatencyHistogram>? ShownLatencies(ExitLatencies? latencies) =>
        latencies is null ? null : _pid > 0 ? latencies.Vms.GetValueOrDefault(_pid) ?? s_noHistograms : latencies.Host;

    private static readonly Dictionary<int, LatencyHistogram> s_noHistograms = [];

    private void DrawLatency(ScreenGrid grid)
    {
        int end = grid.Write(0, 0, Title("exit latency"), TextStyle.Bold);
        if (_guestDead)
            DrawDead(grid, end);
        int column = grid.WriteLeft(2, TableColumn, "Exit reason (handled in)", ReasonWidth, TextStyle.Reverse);
        foreach (string heading in s_headings)
            column = grid.Write(2, grid.Fill(2, column, NumberWidth + 1 - heading.Length, ' ', TextStyle.Reverse), heading, TextStyle.Reverse);
        grid.Write(2, grid.Fill(2, column, ShareWidth + 1 - "%Time".Length, ' ', TextStyle.Reverse), "%Time", TextStyle.Reverse);
        ExitLatencies? latencies = _sampler?.Snapshot.Latencies;
        if (_sampler is null || _sampler.Snapshot.SampleCount < 2)
        {
            if (_error is null)
                grid.Write(4, 1, latencies is null && _sampler is not null ? NotMeasured : "Collecting data...");
            return;
        }
        if (latencies is null)
        {
            grid.Write(4, 1, NotMeasured);
            return;
        }
        // Exits the full table could not time are said on the last row (where an error or a notice
        // is not), never left out of the rows in silence.
        if (latencies.Lost > 0 && _error is null && _notice is null && _label.AsSpan().TryWrite(CultureInfo.InvariantCulture,
            $"{Digits(latencies.Lost)} exits not timed since the start: the table of latency buckets is full", out int lost))
            grid.Write(grid.Rows - 1, 0, _label.AsSpan(0, lost));
        // How much vCPU time exits took each second, as a share of one vCPU, halts (idle) apart; and what ends an exit here.
        column = grid.Write(1, 0, "out of the guest: ");
        column = grid.WriteRight(1, column, _latencyRows.VcpuShare * 100, 0, "F1");
        column = grid.Write(1, column, "% of a vCPU");
        if (_latencyRows.HaltShare > 0)
        {
            column = grid.Write(1, column, ", halted: ");
            column = grid.WriteRight(1, column, _latencyRows.HaltShare * 100, 0, "F1");
            column = grid.Write(1, column, "%");
        }
        column = grid.Write(1, column, " (exits end at ");
        grid.Write(1, grid.Write(1, column, latencies.Entry), ")");
        int row = 3;
        // By index: a foreach over the interface would box an enumerator at every draw.
        for (int i = 0; i < _latencyRows.Rows.Count; i++)
        {
            LatencyRows.Row r = _latencyRows.Rows[i];
            if (row >= grid.Rows - 2)
                break;
            StatField reason = latencies.Fields[r.Field];
            string where = latencies.KindOf(r.Field) == ExitLatencies.UserSpace ? "VMM" : "kernel";
            bool fits = _label.AsSpan().TryWrite(CultureInfo.InvariantCulture, $"{Text.Escape(reason.ChildLabel)} ({where})", out int written);
            DrawLatencyRow(grid, row++, _label.AsSpan(0, fits ? written : 0), r, TextStyle.None);
        }
        if (row == 3)
        {
            grid.Write(4, 1, "No exits timed in the last interval");
            return;
        }
        // Reasons the screen has no room for are in the Total, and said there (they take the least time).
        int hidden = _latencyRows.Rows.Count - (row - 3);
        bool said = _label.AsSpan().TryWrite(CultureInfo.InvariantCulture, $"Total ({Digits(hidden)} not shown)", out int length);
        DrawLatencyRow(grid, row, hidden > 0 && said ? _label.AsSpan(0, length) : "Total", _latencyRows.All, TextStyle.Bold);
    }

    private static readonly string[] s_headings = ["Exits/s", "mean us", .. Percentiles.Shown.Select(p => p.Label + " us")];

    /// <summary>Tenths below 10 µs, whole microseconds above; blank where not known (NaN).</summary>
    private static int WriteMicroseconds(ScreenGrid grid, int row, int column, double us, TextStyle style) => double.IsNaN(us)
        ? grid.Fill(row, column, NumberWidth + 1, ' ', style)
        : grid.WriteRight(row, column, us, NumberWidth + 1, us < 10 ? "F1" : "F0", style);

    private const string NotMeasured = "Exit latencies are not measured: the last row says why.";

    private const string NoBpfEngine = "no exit latencies here: exits cannot be timed (kvm_stat --doctor says why)";

    private static void DrawLatencyRow(ScreenGrid grid, int row, ReadOnlySpan<char> label, LatencyRows.Row r, TextStyle style)
    {
        int column = grid.WriteLeft(row, TableColumn, label, ReasonWidth, style);
        column = grid.WriteRight(row, column, (long)Math.Round(r.ExitsPerSecond), NumberWidth + 1, style);
        column = WriteMicroseconds(grid, row, column, r.Mean, style);
        column = WriteMicroseconds(grid, row, column, r.P50, style);
        column = WriteMicroseconds(grid, row, column, r.P90, style);
        column = WriteMicroseconds(grid, row, column, r.P99, style);
        grid.WriteRight(row, column, r.Share * 100, ShareWidth + 1, "F1", style);
    }
}
