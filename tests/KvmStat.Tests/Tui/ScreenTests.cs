using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;
using KvmStat.Tui;
using static KvmStat.Tests.Infrastructure.FakeSource;

namespace KvmStat.Tests.Tui;

/// <summary>The interactive screen, read back as a grid of characters.</summary>
public class ScreenTests
{
    private readonly FakeTuiBackend _backend = new(
        Counter("kvm_exit"), Counter("kvm_exit(HLT)", "kvm_exit"), Counter("kvm_exit(IO_INSTRUCTION)", "kvm_exit"),
        Counter("kvm_pio"), Counter("kvm_mmio"), Counter("kvm_msr"));

    private readonly ScreenGrid _grid = new(24, 80);

    private TuiApp Start(FieldFilter? filter = null, int pid = 0, double delay = 3.0)
    {
        var app = new TuiApp(_backend, filter ?? FieldFilter.Default, pid, null, delay, _backend.Time);
        app.Start();
        return app;
    }

    private string[] Screen(TuiApp app)
    {
        app.Draw(_grid);
        return _grid.Lines();
    }

    /// <summary>Keys as a terminal sends them (through the decoder): "\n" is Enter, "\u0015" Ctrl-U.</summary>
    private void Keys(TuiApp app, string keys)
    {
        var decoded = new List<Key>();
        KeyDecoder.Decode(System.Text.Encoding.UTF8.GetBytes(keys), decoded);
        foreach (Key key in decoded)
            app.OnKey(key);
    }

    /// <summary>A table row as the reference lays it out: from column 1, "%-40s %10d%7.1f %8s".</summary>
    private static string Row(string name, long total, string percent, long rate) =>
        $" {name,-40} {total,10}{percent,7} {rate,8}";

    private static string TotalRow(long total, long rate) => $" {"Total",-40} {total,10}        {rate,8}";

    /// <summary>A refresh and a draw of the screen allocate nothing once it runs: they happen at every interval.</summary>
    [Fact]
    public void ARefreshAndADrawAllocateNothingInSteadyState()
    {
        TuiApp app = Start();
        void Round()
        {
            _backend.Add("kvm_exit", 300);
            _backend.Add("kvm_exit(HLT)", 100);
            _backend.Add("kvm_pio", 7);
            app.Refresh();
            app.Draw(_grid);
        }
        Assert.Equal(0, Allocations.InSteadyState(Round));
        // With children shown (x): the same.
        Keys(app, "x");
        Assert.Equal(0, Allocations.InSteadyState(Round));
        // And with a regex, whose line heads the table.
        Keys(app, "fkvm_\n");
        Assert.Equal(0, Allocations.InSteadyState(Round));
        Assert.Equal("                 regex filter: kvm_", _grid.RowText(1));
    }

    /// <summary>The guest view's draw allocates nothing once it runs (this backend's own per-VM reads do, so only the draw is measured).</summary>
    [Fact]
    public void TheGuestViewsDrawAllocatesNothingInSteadyState()
    {
        _backend.Guests.AddRange([new GuestProcess(10, "web"), new GuestProcess(20, "db")]);
        _backend.Running.UnionWith([10, 20]);
        _backend.PerVm[10] = new() { ["kvm_pio"] = 10 };
        _backend.PerVm[20] = new() { ["kvm_pio"] = 20 };
        _backend.Others[VmRowKind.OutsideVms] = new() { ["kvm_pio"] = 5 };
        _backend.VcpusOf[10] = [new(11, 0, new() { ["kvm_pio"] = 0 }), new(19, -1, new() { ["kvm_pio"] = 0 })];
        TuiApp app = Start();
        Keys(app, "bx");
        _backend.PerVm[10]["kvm_pio"] = 310;
        _backend.VcpusOf[10][0].Values["kvm_pio"] = 300;
        app.Refresh();
        // vCPU 0's thread gone: its row stays.
        _backend.VcpusOf[10] = [new(19, -1, new() { ["kvm_pio"] = 0 })];
        app.Refresh();
        Assert.Equal(0, Allocations.InSteadyState(() => app.Draw(_grid)));
        Assert.Equal(Row("web [10]", 300, "98.4", 0), _grid.RowText(3));
        Assert.Equal(Row("  tid 19", 0, "0.0", 0), _grid.RowText(4));
        Assert.Equal(Row("  vcpu0", 300, "100.0", 0), _grid.RowText(5));
    }

    /// <summary>A statistic of a unit (nanoseconds waited) is shown, but is no events: the Total and every %Total are the events'.</summary>
    [Fact]
    public void StatisticsOfAUnitStayOutOfTheTotal()
    {
        var backend = new FakeTuiBackend(Counter("kvm_pio"), Counter("exits"),
            new StatField("halt_wait_ns", null, StatKind.Counter, FieldOrigin.BinaryStats, "ns"));
        var app = new TuiApp(backend, FieldFilter.Default, 0, null, 3.0, backend.Time);
        app.Start();
        backend.Add("kvm_pio", 300);
        backend.Add("exits", 100);
        backend.Add("halt_wait_ns", 5_000_000);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal($" {"halt_wait_ns",-40} {5_000_000,10}        {5_000_000,8}", screen[3]);
        Assert.Equal(Row("kvm_pio", 300, "75.0", 300), screen[4]);
        Assert.Equal(Row("exits", 100, "25.0", 100), screen[5]);
        Assert.Equal(TotalRow(400, 400), screen[6]);
    }

    /// <summary>The Total's CurAvg/s is blank when nothing happened in the interval, and 0 when less than one event a second did, as the reference's.</summary>
    [Fact]
    public void TheTotalsRateIsZeroForAFewEventsAndBlankForNone()
    {
        TuiApp app = Start();
        _backend.Add("kvm_pio", 100);
        _backend.Add("kvm_mmio", 100);
        app.Refresh();
        // One event in a three-second interval: a rate of 0.33, shown as 0.
        _backend.Add("kvm_pio", 1);
        _backend.Time.Advance(TimeSpan.FromSeconds(2));
        app.Refresh();
        Assert.Equal(TotalRow(201, 0), Screen(app)[5]);
        app.Refresh();
        Assert.Equal($" {"Total",-40} {201,10}", Screen(app)[5]);
    }

    [Fact]
    public void ShowsTheReferenceLayoutSortedByRateThenTotal()
    {
        TuiApp app = Start();
        Assert.Equal("Collecting data...", Screen(app)[4].Trim());

        _backend.Add("kvm_exit", 300);
        _backend.Add("kvm_exit(HLT)", 100);
        _backend.Add("kvm_pio", 600);
        _backend.Add("kvm_mmio", 100);
        app.Refresh();
        string[] screen = Screen(app);

        Assert.Equal("kvm statistics - summary", screen[0]);
        Assert.Equal("", screen[1]);
        Assert.Equal(" Event                                         Total %Total CurAvg/s", screen[2]);
        Assert.Equal(Row("kvm_pio", 600, "60.0", 600), screen[3]);
        Assert.Equal(Row("kvm_exit", 300, "30.0", 300), screen[4]);
        Assert.Equal(Row("kvm_mmio", 100, "10.0", 100), screen[5]);
        Assert.Equal(TotalRow(1000, 1000), screen[6]);
        Assert.Equal("", screen[7]); // kvm_msr has never counted: hidden
        Assert.Equal(TextStyle.Bold, _grid.StyleAt(0, 0));
        Assert.Equal(TextStyle.None, _grid.StyleAt(2, 0));
        Assert.Equal(TextStyle.Reverse, _grid.StyleAt(2, 1));
        Assert.Equal(TextStyle.Reverse, _grid.StyleAt(2, 67));
        Assert.Equal(TextStyle.None, _grid.StyleAt(6, 0));
        Assert.Equal(TextStyle.Bold, _grid.StyleAt(6, 1));
        Assert.Equal(TextStyle.None, _grid.StyleAt(3, 1));

        // The next interval: the rate follows the new deltas, the totals keep growing.
        _backend.Add("kvm_mmio", 900);
        app.Refresh();
        screen = Screen(app);
        Assert.Equal(Row("kvm_mmio", 1000, "52.6", 900), screen[3]);
        Assert.Equal(Row("kvm_pio", 600, "31.6", 0), screen[4]);
        Assert.Equal(TotalRow(1900, 900), screen[6]);
    }

    /// <summary>
    /// With --latency the exit-latency fields (exits timed, microseconds) are rows of their own but
    /// no events: they add nothing to the Total, and have no share of it.
    /// </summary>
    [Fact]
    public void ExitLatencyFieldsAreNotAddedToTheTotal()
    {
        var backend = new FakeTuiBackend(Counter("kvm_pio"), Counter("kvm_mmio"),
            new StatField("user_exit_time_us", null, StatKind.Counter, FieldOrigin.ExitLatency, "us"));
        var app = new TuiApp(backend, FieldFilter.Default, 0, null, 3.0, backend.Time);
        app.Start();
        backend.Add("kvm_pio", 600);
        backend.Add("kvm_mmio", 400);
        backend.Add("user_exit_time_us", 5000);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal($" {"user_exit_time_us",-40} {5000,10}        {5000,8}", screen[3]);
        Assert.Equal(Row("kvm_pio", 600, "60.0", 600), screen[4]);
        Assert.Equal(TotalRow(1000, 1000), screen[6]);
    }

    [Fact]
    public void OSortsByTotalOnly()
    {
        TuiApp app = Start();
        _backend.Add("kvm_pio", 600);
        app.Refresh();
        _backend.Add("kvm_mmio", 10);
        app.Refresh();
        Assert.StartsWith(" kvm_mmio ", Screen(app)[3]);
        Keys(app, "o");
        app.Refresh();
        Assert.StartsWith(" kvm_pio ", Screen(app)[3]);
    }

    [Fact]
    public void XShowsChildrenUnderTheirParentRelativeToIt()
    {
        TuiApp app = Start();
        // Children are counted from the start, whatever is shown: x shows them without counting anew.
        Assert.Single(_backend.Opened[0].Selection.Select(new[] { "kvm_exit(HLT)" }, n => n, _ => "kvm_exit"));
        _backend.Add("kvm_exit", 200);
        _backend.Add("kvm_exit(HLT)", 200);
        app.Refresh();
        Assert.DoesNotContain(Screen(app), line => line.Contains("(HLT)"));
        Keys(app, "x");
        Assert.True(app.ShowsChildren);
        Assert.Single(_backend.Opened);
        _backend.Add("kvm_exit", 200);
        _backend.Add("kvm_exit(HLT)", 100);
        _backend.Add("kvm_exit(IO_INSTRUCTION)", 100);
        _backend.Add("kvm_pio", 100);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal(Row("kvm_exit", 400, "80.0", 200), screen[3]);
        Assert.Equal(Row("  kvm_exit(HLT)", 300, "75.0", 100), screen[4]);
        Assert.Equal(Row("  kvm_exit(IO_INSTRUCTION)", 100, "25.0", 100), screen[5]);
        Assert.Equal(Row("kvm_pio", 100, "20.0", 100), screen[6]);
        Assert.StartsWith(" Total                                           500", screen[7]);

        Keys(app, "x");
        app.Refresh();
        Assert.DoesNotContain(Screen(app), line => line.Contains("(HLT)"));
        Assert.Single(_backend.Opened);
    }

    /// <summary>A field with reasons and vCPUs (--vcpus with -p): with x its reasons, then its vCPUs, each set in the screen's order, never mixed.</summary>
    [Fact]
    public void AFieldsReasonsAndVcpusAreShownAsTwoSets()
    {
        StatField Vcpu(int index) => StatField.Child("kvm_userspace_exit", $"vcpu{index}", StatKind.Counter, FieldOrigin.Tracepoint) with { IsVcpu = true };
        var backend = new FakeTuiBackend(Counter("kvm_userspace_exit"), Counter("kvm_userspace_exit(IO)", "kvm_userspace_exit"),
            Counter("kvm_userspace_exit(MMIO)", "kvm_userspace_exit"), Vcpu(0), Vcpu(1));
        var app = new TuiApp(backend, FieldFilter.Default, 0, null, 3.0, backend.Time);
        app.Start();
        foreach ((string field, long count) in new[] { ("kvm_userspace_exit", 2510L), ("kvm_userspace_exit(IO)", 2000L), ("kvm_userspace_exit(MMIO)", 510L),
            ("kvm_userspace_exit(vcpu0)", 2200L), ("kvm_userspace_exit(vcpu1)", 310L) })
            backend.Add(field, count);
        app.Refresh();
        Keys(app, "x");
        Assert.Equal(["kvm_userspace_exit", "  kvm_userspace_exit(IO)", "  kvm_userspace_exit(MMIO)", "  kvm_userspace_exit(vcpu0)", "  kvm_userspace_exit(vcpu1)"],
            Screen(app)[3..8].Select(l => l[1..41].TrimEnd()));
    }

    /// <summary>As the reference: a regex that matches only a child still shows its parent, without x.</summary>
    [Fact]
    public void ARegexOfAChildShowsItsParent()
    {
        TuiApp app = Start(FieldFilter.Create(@"kvm_exit\(HLT"));
        _backend.Add("kvm_exit", 300);
        _backend.Add("kvm_exit(HLT)", 100);
        _backend.Add("kvm_pio", 5);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal(Row("kvm_exit", 300, "100.0", 300), screen[3]);
        Assert.Equal("", screen[4]);
        Keys(app, "x");
        Assert.Equal(Row("  kvm_exit(HLT)", 100, "33.3", 100), Screen(app)[4]);
    }

    [Fact]
    public void FPromptShowsTheCurrentRegexAndRejectsBadOnesInPlace()
    {
        TuiApp app = Start();
        Keys(app, "f");
        string[] screen = Screen(app);
        Assert.Equal("Show statistics for events matching a regex.", screen[0]);
        Assert.Equal("Current regex:", screen[2]);
        Assert.Equal("New regex:", screen[3]);

        Keys(app, "kvm_(\n");
        screen = Screen(app);
        // Asked again, as the reference's prompt does: the line cleared, the reason below it.
        Assert.Equal("New regex:", screen[3]);
        Assert.Equal("\"kvm_(\": Not a valid regular expression", screen[5]);

        // A pattern that takes a second on a field shown now (only look-arounds and back-references backtrack) is refused too.
        _backend.Add("kvm_userspace_exit", 1);
        app.Refresh();
        Keys(app, @"(?=k)(\w|.|[a-z_])*Z" + "\n");
        Assert.Equal(@"""(?=k)(\w|.|[a-z_])*Z"": Takes over a second to match a field", Screen(app)[5]);
        Assert.Null(app.Filter.UserPattern);

        Keys(app, "x\u0015kvm_p\n");
        Assert.Equal("kvm_p", app.Filter.UserPattern);
        // Every field was counted from the start: the regex only chooses what is shown.
        Assert.Single(_backend.Opened);
        _backend.Add("kvm_pio", 5);
        app.Refresh();
        screen = Screen(app);
        Assert.Equal("                 regex filter: kvm_p", screen[1]);
        Assert.StartsWith(" kvm_pio ", screen[3]);
    }

    [Theory]
    [InlineData("g")]
    [InlineData("p")]
    public void GAndPAskForAGuestOrPidAndListTheGuests(string key)
    {
        _backend.Guests.Add(new GuestProcess(4242, "web01"));
        _backend.Running.Add(4242);
        _backend.Running.Add(1);
        TuiApp app = Start();
        Keys(app, key);
        string[] screen = Screen(app);
        Assert.Equal("Show statistics for specific guest or pid.", screen[0]);
        Assert.Equal("Guest or pid [ENTER exits]:", screen[3]);
        Assert.Equal("       Pid  Guest Name", screen[7]);
        Assert.Equal("      4242  web01", screen[8]);
        Assert.Equal(TextStyle.Underline, _grid.StyleAt(7, 2));

        Keys(app, "999\n");
        Assert.Equal("\"999\": Not a running process", Screen(app)[5]);
        Assert.Equal("Guest or pid [ENTER exits]:", Screen(app)[3]);
        Keys(app, "1\n");
        Assert.Equal("\"1\": Not a KVM guest", Screen(app)[5]);
        // A vCPU thread of the guest is not the process the screen follows.
        _backend.Running.Add(4243);
        _backend.ThreadOf[4243] = 4242;
        Keys(app, "4243\n");
        Assert.Equal("\"4243\": Not a running process", Screen(app)[5]);
        Keys(app, "99999999999\n");
        Assert.Equal("\"99999999999\": Not a running process", Screen(app)[5]);
        Keys(app, "00\n");
        Assert.Equal("\"00\": Not a running process", Screen(app)[5]);
        Keys(app, "4242\n");

        Assert.Equal(4242, app.Pid);
        Assert.Equal(4242, _backend.Opened[^1].Pid);
        Assert.Equal("kvm statistics - pid 4242 (web01)", Screen(app)[0]);

        // 0, as nothing, is every VM again.
        Keys(app, key + "0\n");
        Assert.Equal(0, app.Pid);
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
    }

    [Theory]
    [InlineData("g")]
    [InlineData("p")]
    public void AGuestOrPidPromptFindsExactlyOneGuestByName(string key)
    {
        _backend.Guests.AddRange([new GuestProcess(10, "a"), new GuestProcess(11, "twin"), new GuestProcess(12, "twin")]);
        _backend.Running.UnionWith([10, 11, 12]);
        TuiApp app = Start();
        Keys(app, key);
        Keys(app, "nobody\n");
        Assert.Equal("\"nobody\": Not an active guest", Screen(app)[5]);
        Keys(app, "twin\n");
        Assert.Equal("\"twin\": Multiple matches found, use pid filter instead", Screen(app)[5]);
        Keys(app, "a\n");
        Assert.Equal(10, app.Pid);
        Assert.Equal("kvm statistics - pid 10 (a)", Screen(app)[0]);
    }

    [Fact]
    public void SPromptValidatesTheDelay()
    {
        TuiApp app = Start();
        Keys(app, "s");
        string[] screen = Screen(app);
        Assert.Equal("Set update interval (defaults to 3.0s).", screen[0]);
        Assert.Equal("Change delay from 3.0s to", screen[2]);
        // The reference's words: the value as Python prints a float, the input cleared.
        Keys(app, "30\n");
        Assert.Equal("\"30.0\": Delay must be <=25.5", Screen(app)[4]);
        Assert.Equal("Change delay from 3.0s to", Screen(app)[2]);
        Keys(app, "0.05\n");
        Assert.Equal("\"0.05\": Delay must be >=0.1", Screen(app)[4]);
        Keys(app, "nan\n");
        Assert.Equal("\"nan\": Invalid value", Screen(app)[4]);
        Keys(app, "0.5\n");
        Assert.Equal(0.5, app.Delay);
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
    }

    [Fact]
    public void EscapeLeavesAPromptUnchanged()
    {
        TuiApp app = Start();
        Keys(app, "sxyz");
        app.OnKey(new Key(KeyKind.Escape));
        Assert.Equal(3.0, app.Delay);
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
    }

    [Fact]
    public void HelpAndAnyKeyBack()
    {
        TuiApp app = Start();
        Keys(app, "h");
        string[] screen = Screen(app);
        Assert.Equal("Interactive commands reference", screen[0]);
        Assert.Equal("Press any key to exit", screen[2]);
        Assert.Contains("   x     toggle reporting of stats for individual child trace events", screen);
        Assert.Equal(long.MaxValue, app.NextRefresh);
        // README shows this screen as it is.
        string readme = File.ReadAllText(Path.Join(Architecture.Repository.Root, "README.md"));
        int start = readme.IndexOf("`h`:\n\n```\n", StringComparison.Ordinal) + "`h`:\n\n```\n".Length;
        Assert.Equal(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)].TrimEnd('\n'), string.Join('\n', screen.Select(l => l.TrimEnd())).TrimEnd('\n'));
        Keys(app, "z");
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
        Assert.False(app.QuitRequested);
    }

    [Fact]
    public void RResetsTotalsAndCClearsFilters()
    {
        _backend.Guests.Add(new GuestProcess(7, "vm"));
        _backend.Running.Add(7);
        TuiApp app = Start(FieldFilter.Create("kvm_pio"), pid: 7);
        _backend.Add("kvm_pio", 50);
        app.Refresh();
        Assert.Equal(Row("kvm_pio", 50, "100.0", 50), Screen(app)[3]);
        Keys(app, "r");
        _backend.Add("kvm_pio", 5);
        app.Refresh();
        Assert.Equal(Row("kvm_pio", 5, "100.0", 5), Screen(app)[3]);

        Keys(app, "c");
        Assert.Equal(0, app.Pid);
        Assert.True(app.Filter.IsDefault);
        Assert.Equal((FieldFilter.Default, 0), (_backend.Opened[^1].Selection.Filter, _backend.Opened[^1].Pid));
        Assert.Equal("kvm statistics - summary", Screen(app)[0]);
    }

    [Fact]
    public void QAndCtrlCQuit()
    {
        TuiApp app = Start();
        Keys(app, "q");
        Assert.True(app.QuitRequested);
        TuiApp other = Start();
        other.OnKey(new Key(KeyKind.Interrupt));
        Assert.True(other.QuitRequested);
    }

    [Fact]
    public void AnyOtherKeyRefreshesAtOnce()
    {
        TuiApp app = Start();
        app.Refresh();
        long due = app.NextRefresh;
        Keys(app, "z");
        Assert.True(app.NextRefresh < due);
        Assert.False(app.QuitRequested);
    }

    [Fact]
    public void ATinyTerminalSaysSoAndRecovers()
    {
        TuiApp app = Start();
        _backend.Add("kvm_pio", 1);
        app.Refresh();
        _grid.Resize(4, 30);
        app.Draw(_grid);
        Assert.Equal("Terminal too small (30x4): kvm", _grid.RowText(0));
        Assert.Equal("_stat needs at least 24x6.", _grid.RowText(1));
        // Narrower than the table (a split pane): what fits, cut on the right.
        _grid.Resize(8, 60);
        app.Draw(_grid);
        Assert.Equal("kvm statistics - summary", _grid.RowText(0));
        Assert.Equal($" {"kvm_pio",-40} {1,10}{"100.0",7}", _grid.RowText(3));
        _grid.Resize(24, 80);
        app.Draw(_grid);
        Assert.Equal("kvm statistics - summary", _grid.RowText(0));
        Assert.StartsWith(" kvm_pio", _grid.RowText(3));
    }

    [Fact]
    public void ADeadGuestIsMarkedAndItsSuccessorPickedUp()
    {
        _backend.Guests.Add(new GuestProcess(100, "db"));
        _backend.Running.Add(100);
        var app = new TuiApp(_backend, FieldFilter.Default, 100, "db", 3.0, _backend.Time);
        app.Start();
        _backend.Add("kvm_pio", 42);
        app.Refresh();

        _backend.Running.Remove(100);
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal("kvm statistics - pid 100 (db)   Guest is DEAD", screen[0]);
        // The reference's marker: "   Guest is DEAD   " highlighted from the title's end.
        Assert.Equal(TextStyle.Reverse | TextStyle.Bold, _grid.StyleAt(0, "kvm statistics - pid 100 (db)".Length));
        Assert.Equal(TextStyle.Reverse | TextStyle.Bold, _grid.StyleAt(0, "kvm statistics - pid 100 (db)   Guest is DEAD  ".Length));
        Assert.Equal(Row("kvm_pio", 42, "100.0", 42), screen[3]);

        // The loop looks for a successor after each refresh (Refresh itself only samples).
        app.FollowGuest();
        Assert.Equal(100, app.Pid);
        _backend.Guests.Add(new GuestProcess(200, "db"));
        _backend.Running.Add(200);
        app.Refresh();
        app.FollowGuest();
        Assert.Equal(200, app.Pid);
        Assert.Equal("kvm statistics - pid 200 (db)", Screen(app)[0]);
    }

    [Fact]
    public void BShowsOneRowPerGuestAndEnterDrillsIn()
    {
        _backend.Guests.AddRange([new GuestProcess(10, "web"), new GuestProcess(20, "db")]);
        _backend.Running.UnionWith([10, 20]);
        _backend.PerVm[10] = new() { ["kvm_pio"] = 10 };
        _backend.PerVm[20] = new() { ["kvm_pio"] = 20 };
        TuiApp app = Start();
        Keys(app, "b");
        Assert.True(app.ShowsGuests);
        _backend.PerVm[10]["kvm_pio"] = 310;
        _backend.PerVm[20]["kvm_pio"] = 120;
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal("kvm statistics - per guest", screen[0]);
        Assert.StartsWith(" Guest Name [pid]", screen[2]);
        Assert.Equal(Row("web [10]", 300, "75.0", 300), screen[3]);
        Assert.Equal(Row("db [20]", 100, "25.0", 100), screen[4]);
        Assert.StartsWith(" Total                                           400", screen[5]);
        Assert.Equal(TextStyle.Reverse, _grid.StyleAt(3, 1));
        Assert.Equal(TextStyle.None, _grid.StyleAt(3, 0));

        app.OnKey(new Key(KeyKind.Down));
        Screen(app);
        Assert.Equal(TextStyle.Reverse, _grid.StyleAt(4, 1));
        Assert.Equal(TextStyle.None, _grid.StyleAt(3, 1));
        app.OnKey(new Key(KeyKind.Enter));
        Assert.False(app.ShowsGuests);
        Assert.Equal(20, app.Pid);
        Assert.Equal("kvm statistics - pid 20 (db)", Screen(app)[0]);
    }

    /// <summary>
    /// A dense host, more guests than rows: the rows that make the Total the host's (outside VMs,
    /// unattributed) stay in view below the guests, wherever the selection scrolls.
    /// </summary>
    [Fact]
    public void TheOtherRowsStayInViewWithMoreGuestsThanRows()
    {
        for (int pid = 100; pid < 140; pid++)
        {
            _backend.Guests.Add(new GuestProcess(pid, $"vm{pid}"));
            _backend.Running.Add(pid);
            _backend.PerVm[pid] = new() { ["kvm_pio"] = 0 };
        }
        _backend.Others[KvmStat.Sources.VmRowKind.OutsideVms] = new() { ["kvm_pio"] = 0 };
        _backend.Others[KvmStat.Sources.VmRowKind.Unattributed] = new() { ["kvm_pio"] = 0 };
        TuiApp app = Start();
        Keys(app, "b");
        for (int pid = 100; pid < 140; pid++)
            _backend.PerVm[pid]["kvm_pio"] = pid;
        _backend.Others[KvmStat.Sources.VmRowKind.OutsideVms]["kvm_pio"] = 50;
        _backend.Others[KvmStat.Sources.VmRowKind.Unattributed]["kvm_pio"] = 601;
        app.Refresh();
        foreach (KeyKind move in new[] { KeyKind.Home, KeyKind.PageDown, KeyKind.End })
        {
            app.OnKey(new Key(move));
            string[] screen = Screen(app);
            int unattributed = Array.FindIndex(screen, l => l.StartsWith(" (unattributed)", StringComparison.Ordinal));
            Assert.True(unattributed > 3, string.Join('\n', screen));
            Assert.Contains(screen, l => l.StartsWith(" (outside VMs)", StringComparison.Ordinal));
            Assert.StartsWith(" Total", screen[unattributed + 1]);
            Assert.Contains($"{Enumerable.Range(100, 40).Sum() + 651}", screen[unattributed + 1]);
            Assert.Contains(screen, l => l.Contains(move == KeyKind.End ? "vm100 [100]" : "vm139 [139]", StringComparison.Ordinal));
        }
        // VMs the engine cannot count are said on the last line, wherever the list is.
        _backend.VmsLeftOut = 3;
        app.Refresh();
        Assert.StartsWith("3 running VMs left out: their perf counters could not open (the open-file limit)", Screen(app)[^1]);
        // A warning on the last row (the table is full) does not hide it.
        app.Notice("the BPF table has room for 8192 processes and is full: events of processes beyond are counted as unattributed");
        Assert.StartsWith("3 running VMs left out: ", Screen(app)[^1]);
    }

    /// <summary>Without --vcpus, 'x' in the guest view has no vCPUs to show: the last row says what would.</summary>
    [Fact]
    public void XInTheGuestViewWithoutVcpusSaysWhatItNeeds()
    {
        _backend.Guests.Add(new GuestProcess(10, "web"));
        _backend.Running.Add(10);
        _backend.PerVm[10] = new() { ["kvm_pio"] = 0 };
        TuiApp app = Start();
        Keys(app, "b");
        _backend.PerVm[10]["kvm_pio"] = 400;
        app.Refresh();
        Keys(app, "x");
        string[] screen = Screen(app);
        Assert.Equal(Row("web [10]", 400, "100.0", 400), screen[3]);
        Assert.Equal("x shows each guest's vCPUs only with --vcpus (kvm_stat --vcpus)", screen[23].Trim());
        // A hint of the guest view: gone from the other views.
        Keys(app, "b");
        Assert.DoesNotContain(Screen(app), l => l.Contains("--vcpus", StringComparison.Ordinal));
    }

    /// <summary>
    /// With --vcpus, 'x' in the guest view shows each guest's vCPUs under it (%Total of the guest);
    /// a vCPU's new thread goes on from what its old one counted, and a vCPU whose threads are all
    /// gone keeps its row.
    /// </summary>
    [Fact]
    public void XInTheGuestViewShowsEachGuestsVcpus()
    {
        _backend.Guests.Add(new GuestProcess(10, "web"));
        _backend.Running.Add(10);
        _backend.PerVm[10] = new() { ["kvm_pio"] = 0 };
        _backend.VcpusOf[10] = [new(11, 0, new() { ["kvm_pio"] = 0 }), new(12, 1, new() { ["kvm_pio"] = 0 }), new(19, -1, new() { ["kvm_pio"] = 0 })];
        TuiApp app = Start();
        Keys(app, "b");
        _backend.PerVm[10]["kvm_pio"] = 400;
        _backend.VcpusOf[10][0].Values["kvm_pio"] = 300;
        _backend.VcpusOf[10][1].Values["kvm_pio"] = 100;
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Equal(Row("web [10]", 400, "100.0", 400), screen[3]);
        Assert.StartsWith(" Total", screen[4]);

        Keys(app, "x");
        screen = Screen(app);
        Assert.Equal(Row("web [10]", 400, "100.0", 400), screen[3]);
        Assert.Equal(Row("  vcpu0 [11]", 300, "75.0", 300), screen[4]);
        Assert.Equal(Row("  vcpu1 [12]", 100, "25.0", 100), screen[5]);
        Assert.Equal(Row("  tid 19", 0, "0.0", 0), screen[6]);
        Assert.StartsWith(" Total                                           400", screen[7]);
        Assert.Equal("Up/Down: select   Enter: events of the selected guest   x: vCPUs   b: back", screen[23].TrimEnd());

        // vCPU 1 on a new thread; vCPU 0's thread gone.
        _backend.VcpusOf[10] = [new(13, 1, new() { ["kvm_pio"] = 50 })];
        _backend.PerVm[10]["kvm_pio"] = 450;
        app.Refresh();
        screen = Screen(app);
        Assert.Equal(Row("  vcpu1 [13]", 150, "33.3", 50), screen[4]);
        Assert.Equal(Row("  vcpu0", 300, "66.7", 0), screen[5]);
        Assert.StartsWith(" Total                                           450", screen[6]);

        // vCPU 1's old thread beside its new one in one sample: one row for the vCPU, gone threads counted once.
        _backend.VcpusOf[10] = [new(13, 1, new() { ["kvm_pio"] = 60 }), new(14, 1, new() { ["kvm_pio"] = 20 })];
        _backend.PerVm[10]["kvm_pio"] = 480;
        app.Refresh();
        screen = Screen(app);
        Assert.Equal(Row("  vcpu1 [14]", 180, "37.5", 30), screen[4]);
        Assert.Equal(Row("  vcpu0", 300, "62.5", 0), screen[5]);
        Assert.StartsWith(" Total                                           480", screen[6]);
    }

    /// <summary>More vCPUs whose threads are all gone than rows: the outside VMs and Total rows stay in view below them.</summary>
    [Fact]
    public void GoneVcpusLeaveTheOtherRowsInView()
    {
        _backend.Guests.Add(new GuestProcess(10, "web"));
        _backend.Running.Add(10);
        _backend.PerVm[10] = new() { ["kvm_pio"] = 0 };
        _backend.Others[KvmStat.Sources.VmRowKind.OutsideVms] = new() { ["kvm_pio"] = 0 };
        _backend.VcpusOf[10] = [.. Enumerable.Range(0, 40).Select(i => new FakeTuiBackend.FakeVcpu(100 + i, i, new() { ["kvm_pio"] = 0 }))];
        TuiApp app = Start();
        Keys(app, "b");
        foreach (FakeTuiBackend.FakeVcpu vcpu in _backend.VcpusOf[10])
            vcpu.Values["kvm_pio"] = 10;
        _backend.PerVm[10]["kvm_pio"] = 400;
        _backend.Others[KvmStat.Sources.VmRowKind.OutsideVms]["kvm_pio"] = 7;
        app.Refresh();
        Keys(app, "x");
        // Every thread but vCPU 0's gone: 39 rows of vCPUs without threads.
        _backend.VcpusOf[10] = [new(100, 0, new() { ["kvm_pio"] = 10 })];
        app.Refresh();
        string[] screen = Screen(app);
        Assert.Contains(screen, l => l.StartsWith("   vcpu39", StringComparison.Ordinal) || l.StartsWith("   vcpu1 ", StringComparison.Ordinal));
        int outside = Array.FindIndex(screen, l => l.StartsWith(" (outside VMs)", StringComparison.Ordinal));
        Assert.True(outside > 3, string.Join('\n', screen));
        Assert.StartsWith(" Total", screen[outside + 1]);
    }

    [Fact]
    public void HostileGuestNamesAreShownEscaped()
    {
        const string Hostile = "x\x1b]0;owned\x07\x1b[2J\u202e";
        _backend.Guests.Add(new GuestProcess(66, Hostile));
        _backend.Running.Add(66);
        _backend.PerVm[66] = new() { ["kvm_pio"] = 1 };
        TuiApp app = Start(pid: 66);
        string title = Screen(app)[0];
        Assert.Equal(@"kvm statistics - pid 66 (x\e]0;owned\x07\e[2J\u202e)", title);

        Keys(app, "p");
        Assert.Contains(Screen(app), line => line == @"        66  x\e]0;owned\x07\e[2J\u202e");
        app.OnKey(new Key(KeyKind.Escape));
        Keys(app, "b");
        app.Refresh();
        Assert.StartsWith(@" x\e]0;owned\x07\e[2J\u202e [66]", Screen(app)[3]);
        for (int row = 0; row < _grid.Rows; row++)
            Assert.DoesNotContain(_grid.RowChars(row).ToArray(), c => char.IsControl(c) || c == '\u202e');
    }

    [Fact]
    public void ANameLongerThan48CharactersIsCut()
    {
        string name = new('n', 60);
        _backend.Guests.Add(new GuestProcess(5, name));
        _backend.Running.Add(5);
        TuiApp app = Start(pid: 5);
        Assert.Equal($"kvm statistics - pid 5 ({new string('n', 48)}...)", Screen(app)[0]);
    }

    [Fact]
    public void WarningsFromSourcesGoOnTheLastRowNotAcrossTheScreen()
    {
        TuiApp app = Start();
        app.Notice("QEMU 7.2.22 at /run/q.sock makes every vCPU leave the guest\x1b[2J");
        string[] screen = Screen(app);
        Assert.Equal(@"QEMU 7.2.22 at /run/q.sock makes every vCPU leave the guest\e[2J", screen[^1]);
    }

    [Fact]
    public void NothingMatchingSaysSo()
    {
        TuiApp app = Start();
        app.Refresh();
        Assert.Equal(" No matching events reported yet", Screen(app)[4]);
    }
}
