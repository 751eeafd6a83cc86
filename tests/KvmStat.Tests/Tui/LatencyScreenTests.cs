using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;
using KvmStat.Tui;
using static KvmStat.Tests.Infrastructure.FakeSource;

namespace KvmStat.Tests.Tui;

/// <summary>The screen's latency view ('l'), from exit-latency histograms the test sets.</summary>
public class LatencyScreenTests
{
    private const int Io = 1, Mmio = 2, Hlt = 4;

    private static readonly StatField[] s_fields =
    [
        Counter("kvm_userspace_exit"), Counter("kvm_userspace_exit(IO)", "kvm_userspace_exit"), Counter("kvm_userspace_exit(MMIO)", "kvm_userspace_exit"),
        Counter("kvm_exit"), Counter("kvm_exit(HLT)", "kvm_exit"),
    ];

    private readonly FakeTuiBackend _backend = new(Counter("kvm_pio"));
    private readonly ExitLatencies _latencies = new(new FieldSet(s_fields), "ioctl(KVM_RUN)");
    private readonly ScreenGrid _grid = new(24, 80);

    public LatencyScreenTests() => _backend.Latencies = _latencies;

    private string[] Screen(TuiApp app)
    {
        app.Draw(_grid);
        return _grid.Lines();
    }

    private static void Key(TuiApp app, char c) => app.OnKey(KvmStat.Tui.Key.Of(c));

    /// <summary>Adds <paramref name="exits"/> in one log2 bucket, that took <paramref name="nanoseconds"/> together.</summary>
    private static void Add(Dictionary<int, LatencyHistogram> histograms, int field, int bucket, ulong exits, ulong nanoseconds)
    {
        if (!histograms.TryGetValue(field, out LatencyHistogram? histogram))
            histograms[field] = histogram = new LatencyHistogram();
        histogram.Buckets[bucket] += exits;
        histogram.Nanoseconds += nanoseconds;
    }

    /// <summary>
    /// What the engine's capture does before it refills the histograms: what they hold becomes the
    /// start of the next interval. Exits added after it are the next second's.
    /// </summary>
    private void NextSecond()
    {
        foreach (LatencyHistogram histogram in _latencies.Host.Values.Concat(_latencies.Vms.Values.SelectMany(v => v.Values)))
            histogram.StartCapture();
    }

    /// <summary>"%-24s %8s %8s %8s %8s %8s %6s" from column 1: reason, Exits/s, mean, p50, p90, p99, %Time.</summary>
    private static string Row(string label, long perSecond, string mean, string p50, string p90, string p99, string share) =>
        $" {label,-24}{perSecond,9}{mean,9}{p50,9}{p90,9}{p99,9}{share,7}";

    [Fact]
    public void LShowsEachReasonsPercentilesAndShareOfTimeAndGoesBack()
    {
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Assert.False(_backend.Opened[^1].Latency);
        Key(app, 'l');
        // Measuring starts with the first 'l': a new sampler that asks for latencies.
        Assert.True(app.ShowsLatency);
        Assert.True(_backend.Opened[^1].Latency);
        string[] screen = Screen(app);
        Assert.Equal("exit latency - summary", screen[0]);
        Assert.Equal(" Exit reason (handled in)  Exits/s  mean us   p50 us   p90 us   p99 us  %Time", screen[2]);
        Assert.Equal("Collecting data...", screen[4].Trim());

        // In one second: 100 IO exits of 16 to 32 µs (2 ms together), 10 MMIO exits of 262 to 524 µs (3 ms).
        Add(_latencies.Host, Io, 14, 100, 2_000_000);
        Add(_latencies.Host, Mmio, 18, 10, 3_000_000);
        app.Refresh();
        screen = Screen(app);
        Assert.Equal("out of the guest: 0.5% of a vCPU (exits end at ioctl(KVM_RUN))", screen[1]);
        // Percentiles are placed in their bucket by the exits' time: IO's median is their mean of 20 µs
        // (spread over [16.4, 23.6) µs), not the middle of [16.4, 32.8); the Total's p99 is an MMIO exit.
        Assert.Equal(Row("MMIO (VMM)", 10, "300", "300", "330", "337", "60.0"), screen[3]);
        Assert.Equal(Row("IO (VMM)", 100, "20", "20", "23", "24", "40.0"), screen[4]);
        Assert.Equal(Row("Total", 110, "45", "20", "22", "343", "100.0"), screen[5]);
        Assert.Equal(TextStyle.Bold, _grid.StyleAt(5, 1));
        Assert.Equal(TextStyle.Reverse, _grid.StyleAt(2, 67));

        // The next second: halts in the kernel only; what came before is not counted again.
        NextSecond();
        Add(_latencies.Host, Hlt, 10, 5, 5 * 1500);
        app.Refresh();
        screen = Screen(app);
        Assert.Equal(Row("HLT (kernel)", 5, "1.5", "1.5", "1.9", "2.0", "100.0"), screen[3]);
        Assert.Equal("", screen[5]);

        // A second with no exits says so.
        NextSecond();
        app.Refresh();
        Assert.Equal("No exits timed in the last interval", Screen(app)[4].Trim());

        // 'l' again: back to the events, and measuring stops (a sampler without latencies, said on
        // the last row); 'l' starts it again.
        Key(app, 'l');
        string[] back = Screen(app);
        Assert.Equal("kvm statistics - summary", back[0]);
        Assert.False(_backend.Opened[^1].Latency);
        Assert.Equal("exit latencies: measuring stopped (l starts it again)", back[^1].Trim());
        Key(app, 'l');
        Assert.Equal("exit latency - summary", Screen(app)[0]);
        Assert.True(_backend.Opened[^1].Latency);
        // Measuring again: the line that said it stopped is gone.
        Assert.DoesNotContain("measuring stopped", Screen(app)[^1], StringComparison.Ordinal);
    }

    /// <summary>
    /// A halted vCPU waits for work: the time halts take is said apart from the time exits keep
    /// vCPUs out of their guests (an idle guest is no slow one); where kvm_entry ends exits, one
    /// handed to user space is two timed parts but one exit in the Total.
    /// </summary>
    [Fact]
    public void HaltsAreIdleTimeAndAnExitInTwoPartsIsOneExit()
    {
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Key(app, 'l');
        // In one second: 100 IO exits of 20 µs (2 ms), and one halt of 0.9 s.
        Add(_latencies.Host, Io, 14, 100, 2_000_000);
        Add(_latencies.Host, Hlt, 29, 1, 900_000_000);
        app.Refresh();
        Assert.Equal("out of the guest: 0.2% of a vCPU, halted: 90.0% (exits end at ioctl(KVM_RUN))", Screen(app)[1]);

        var parts = new ExitLatencies(new FieldSet(s_fields), "kvm_entry");
        var rows = new LatencyRows();
        var histograms = new Dictionary<int, LatencyHistogram>();
        // 10 IO exits, each timed in the kernel (kvm_exit's reason, here HLT's field) and in user space.
        Add(histograms, Hlt, 10, 10, 10 * 1500);
        Add(histograms, Io, 14, 10, 10 * 20_000);
        rows.Update(parts, histograms, 1);
        Assert.Equal(10, rows.All.ExitsPerSecond);
        // Its buckets hold parts: no percentile of whole exits is known.
        Assert.True(double.IsNaN(rows.All.P50) && double.IsNaN(rows.All.P99));
        Assert.Equal(21.5, rows.All.Mean, 6);
        rows.Update(_latencies, histograms, 1);
        Assert.Equal(20, rows.All.ExitsPerSecond);
    }

    /// <summary>Exits the full table could not time are said on the last row, never left out of the rows in silence.</summary>
    [Fact]
    public void ExitsThatCouldNotBeTimedAreSaid()
    {
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Key(app, 'l');
        Add(_latencies.Host, Io, 14, 100, 2_000_000);
        app.Refresh();
        Assert.Equal("", Screen(app)[^1]);
        _latencies.Lost = 42;
        app.Refresh();
        Assert.Equal("42 exits not timed since the start: the table of latency buckets is full", Screen(app)[^1]);
    }

    /// <summary>Reasons a short screen has no room for are in the Total, which says how many are not shown.</summary>
    [Fact]
    public void ReasonsBeyondTheScreenAreSaidInTheTotal()
    {
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Key(app, 'l');
        Add(_latencies.Host, Io, 14, 100, 2_000_000);
        Add(_latencies.Host, Mmio, 18, 10, 3_000_000);
        Add(_latencies.Host, Hlt, 10, 5, 5 * 1500);
        app.Refresh();
        var small = new ScreenGrid(7, 80);
        app.Draw(small);
        string[] screen = small.Lines();
        Assert.Equal(["MMIO (VMM)", "IO (VMM)", "Total (1 not shown)"], screen[3..6].Select(l => l[1..25].Trim()));
        app.Draw(_grid);
        Assert.Equal("Total", _grid.Lines()[6][1..25].Trim());
    }

    /// <summary>Any key that leaves the latency view for another (b, c, a pid) stops measuring, as 'l' does.</summary>
    [Theory]
    [InlineData("b")]
    [InlineData("c")]
    [InlineData("p100\r")]
    public void EveryWayOutOfTheLatencyViewStopsMeasuring(string keys)
    {
        _backend.Guests.Add(new GuestProcess(100, "db"));
        _backend.Running.Add(100);
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Key(app, 'l');
        Assert.True(_backend.Opened[^1].Latency);
        int opened = _backend.Opened.Count;
        foreach (char c in keys)
            app.OnKey(c == '\r' ? new KvmStat.Tui.Key(KeyKind.Enter) : KvmStat.Tui.Key.Of(c));
        Assert.False(app.ShowsLatency);
        Assert.True(_backend.Opened.Count > opened);
        Assert.False(_backend.Opened[^1].Latency);
    }

    /// <summary>With --latency measuring goes on whatever the view: 'l' only shows and leaves it (no new sampler).</summary>
    [Fact]
    public void WithLatencyOnTheCommandLineLOnlyChangesTheView()
    {
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time, latency: true);
        app.Start();
        int opened = _backend.Opened.Count;
        Assert.True(_backend.Opened[^1].Latency);
        Key(app, 'l');
        Assert.Equal("exit latency - summary", Screen(app)[0]);
        Key(app, 'l');
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
        Assert.Equal(opened, _backend.Opened.Count);
    }

    [Fact]
    public void TheHelpListsL()
    {
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Key(app, 'h');
        Assert.Contains("   l     toggle exit latencies by reason (p50/p90/p99, share of time)", Screen(app));
    }

    [Fact]
    public void AWatchedGuestShowsItsOwnLatenciesAndADeadOneIsMarked()
    {
        _backend.Guests.Add(new GuestProcess(100, "db"));
        _backend.Running.Add(100);
        var app = new TuiApp(_backend, FieldFilter.Default, 100, "db", 3.0, _backend.Time, latency: true);
        app.Start();
        Assert.True(_backend.Opened[^1].Latency);
        Key(app, 'l');
        var db = new Dictionary<int, LatencyHistogram>();
        _latencies.Vms[100] = db;
        Add(db, Io, 12, 4, 4 * 5000);
        Add(_latencies.Host, Mmio, 18, 10, 3_000_000);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal("exit latency - pid 100 (db)", screen[0]);
        Assert.Equal(Row("IO (VMM)", 4, "5.0", "5.0", "5.7", "5.9", "100.0"), screen[3]);
        Assert.DoesNotContain(screen, l => l.Contains("MMIO", StringComparison.Ordinal));

        _backend.Running.Remove(100);
        app.Refresh();
        Assert.Equal("exit latency - pid 100 (db)   Guest is DEAD", Screen(app)[0]);
    }

    /// <summary>Drawing a watched guest's latency view, and its events, allocates nothing once it runs.</summary>
    [Fact]
    public void DrawingAWatchedGuestsViewsAllocatesNothing()
    {
        _backend.Guests.Add(new GuestProcess(100, "db"));
        _backend.Running.Add(100);
        var app = new TuiApp(_backend, FieldFilter.Default, 100, "db", 3.0, _backend.Time, latency: true);
        app.Start();
        var db = new Dictionary<int, LatencyHistogram>();
        _latencies.Vms[100] = db;
        Add(db, Io, 12, 4, 4 * 5000);
        app.Refresh();
        app.Refresh();
        foreach (char view in "ll")
        {
            Key(app, view);
            Assert.Equal(0, Allocations.InSteadyState(() => app.Draw(_grid)));
        }
        Assert.Equal("kvm statistics - pid 100 (db)", _grid.RowText(0));
        Key(app, 'l');
        Assert.Equal(Row("IO (VMM)", 4, "5.0", "5.0", "5.7", "5.9", "100.0"), Screen(app)[3]);
    }

    /// <summary>
    /// 'l' in the guest view shows the selected guest's exits, and 'l' again goes back to the guest
    /// view, whose footer stays; 'b' from there goes to the guests too, and 'b' again to the summary.
    /// </summary>
    [Fact]
    public void LInTheGuestViewShowsTheSelectedGuestAndGoesBackThere()
    {
        _backend.Guests.Add(new GuestProcess(100, "db"));
        _backend.Guests.Add(new GuestProcess(200, "web"));
        _backend.Running.UnionWith([100, 200]);
        _backend.PerVm[100] = new() { ["kvm_pio"] = 0 };
        _backend.PerVm[200] = new() { ["kvm_pio"] = 0 };
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        Key(app, 'b');
        app.Refresh();
        // web raises more: it comes first, db second.
        _backend.PerVm[100]["kvm_pio"] = 5;
        _backend.PerVm[200]["kvm_pio"] = 50;
        app.Refresh();
        app.OnKey(new KvmStat.Tui.Key(KeyKind.Down));
        Key(app, 'l');
        Assert.Equal((100, false, true), (_backend.Opened[^1].Pid, _backend.Opened[^1].PerVm, _backend.Opened[^1].Latency));
        var db = new Dictionary<int, LatencyHistogram>();
        _latencies.Vms[100] = db;
        Add(db, Io, 12, 4, 4 * 5000);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal("exit latency - pid 100 (db)", screen[0]);
        Assert.Equal(Row("IO (VMM)", 4, "5.0", "5.0", "5.7", "5.9", "100.0"), screen[3]);

        Key(app, 'l');
        Assert.Equal((0, true, false), (_backend.Opened[^1].Pid, _backend.Opened[^1].PerVm, _backend.Opened[^1].Latency));
        app.Refresh();
        app.Refresh();
        screen = Screen(app);
        Assert.Equal("kvm statistics - per guest", screen[0]);
        Assert.StartsWith("Up/Down: select", screen[^1]);

        app.OnKey(new KvmStat.Tui.Key(KeyKind.Down));
        Key(app, 'l');
        Key(app, 'b');
        Assert.Equal("kvm statistics - per guest", Screen(app)[0]);
        Key(app, 'b');
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
        Assert.Equal(0, _backend.Opened[^1].Pid);
    }

    /// <summary>
    /// The view shows the sampler's last interval, not one of its own: a second look at the same
    /// sample shows the same numbers, and histograms that start again (a slot given back) count
    /// from zero, never as a negative interval.
    /// </summary>
    [Fact]
    public void TheRowsAreTheSamplersLastInterval()
    {
        var rows = new LatencyRows();
        var histograms = new Dictionary<int, LatencyHistogram>();
        Add(histograms, Io, 14, 100, 2_000_000);
        rows.Update(_latencies, histograms, 1);
        Assert.Equal(100, Assert.Single(rows.Rows).ExitsPerSecond);
        rows.Update(_latencies, histograms, 1);
        Assert.Equal(100, Assert.Single(rows.Rows).ExitsPerSecond);
        histograms[Io].StartCapture();
        Add(histograms, Io, 14, 30, 600_000);
        rows.Update(_latencies, histograms, 2);
        Assert.Equal(15, Assert.Single(rows.Rows).ExitsPerSecond);
        histograms[Io].StartCapture();
        histograms[Io].Clear();
        Add(histograms, Io, 14, 7, 140_000);
        rows.Update(_latencies, histograms, 1);
        Assert.Equal(7, Assert.Single(rows.Rows).ExitsPerSecond);
        rows.Update(_latencies, null, 1);
        Assert.Empty(rows.Rows);
        Assert.Equal(0, rows.VcpuShare);
    }

    /// <summary>
    /// Where latencies cannot be measured (--engine perf refuses them; without BPF the engine fell
    /// back to perf counters, which open but time nothing), the last row says why and counting goes on.
    /// </summary>
    [Theory]
    [InlineData(true, "exit latencies are timed by the BPF engine only. Leave out --engine perf.")]
    [InlineData(false, "no exit latencies here: exits cannot be timed (kvm_stat --doctor says why)")]
    public void WhereLatenciesCannotBeMeasuredTheLastRowSaysWhyAndCountingGoesOn(bool refused, string why)
    {
        if (refused)
            _backend.LatencyRefusal = "exit latencies are timed by the BPF engine only.";
        else
            _backend.Latencies = null;
        var app = new TuiApp(_backend, FieldFilter.Default, 0, null, 3.0, _backend.Time);
        app.Start();
        _backend.Add("kvm_pio", 5);
        Key(app, 'l');
        Assert.Equal(!refused, _backend.Opened[^1].Latency);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal("Exit latencies are not measured: the last row says why.", screen[4].Trim());
        Assert.Equal(why, screen[23].Trim());
        Key(app, 'l');
        _backend.Add("kvm_pio", 7);
        app.Refresh();
        Assert.StartsWith(" kvm_pio ", Screen(app)[3]);
    }
}
