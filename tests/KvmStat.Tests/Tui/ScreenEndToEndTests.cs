using KvmStat.Sources.Bpf;
using System.Diagnostics;
using System.Text.RegularExpressions;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Tui;

/// <summary>The published binary's screen in a real terminal (tmux), watching a real guest.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class ScreenEndToEndTests
{
    private static void Require()
    {
        Kvm.Require();
        Assert.SkipUnless(TmuxPane.Available, "tmux is not installed (./test.sh installs it)");
    }

    private static bool HasRow(string[] screen, string name, long total) =>
        screen.Any(line => line.StartsWith(" " + name + " ", StringComparison.Ordinal) &&
                           line.Length >= 52 && line[42..52].Trim() == total.ToString());

    [Fact]
    public void EveryViewAgainstARealGuestAndTheTerminalIsRestored()
    {
        Require();
        string name = $"tui-{Environment.ProcessId}";
        using var guest = GuestVm.Start(name, vcpus: 2, outs: 250, mmio: 10);
        using var pane = new TmuxPane(100, 30);
        pane.Type("echo BEFORE-KVM-STAT");
        pane.Type($"'{PublishedBinary.Path}' -s 0.5 -g {name}");
        pane.WaitFor(s => s[0] == $"kvm statistics - pid {guest.Pid} ({name})", "the title");
        Assert.True(pane.AlternateScreen);
        Assert.Equal(" Event                                         Total %Total CurAvg/s", pane.Screen()[2]);

        guest.Run();
        pane.WaitFor(s => HasRow(s, "kvm_pio", 500) && HasRow(s, "kvm_mmio", 20) && HasRow(s, "kvm_userspace_exit", 522),
            "exact counts of one run");
        string attributes = pane.ScreenWithAttributes();
        Assert.Contains("\x1b[1mkvm statistics", attributes);
        Assert.Contains("\x1b[7mEvent", attributes);

        // x: children under their parent; they were counted from the start, so their totals go on.
        pane.Keys("x");
        pane.WaitFor(s => HasRow(s, "  kvm_userspace_exit(IO)", 500) && HasRow(s, "kvm_pio", 500), "child rows at once");
        guest.Run();
        string[] screen = pane.WaitFor(s => HasRow(s, "  kvm_userspace_exit(IO)", 1000) && HasRow(s, "kvm_pio", 1000) &&
            HasRow(s, "  kvm_userspace_exit(MMIO)", 40) && HasRow(s, "  kvm_userspace_exit(HLT)", 4), "children counted on");
        int parent = Array.FindIndex(screen, l => l.StartsWith(" kvm_userspace_exit ", StringComparison.Ordinal));
        Assert.StartsWith("   kvm_userspace_exit(IO)", screen[parent + 1]);

        // b: one row per VM from per-thread counters; Enter drills into the selected one.
        pane.Keys("b");
        pane.WaitFor(s => s[0] == "kvm statistics - per guest" && s.Any(l => l.StartsWith($" {name} [{guest.Pid}]")), "per-guest view");
        guest.Run();
        pane.WaitFor(s => s.Any(l => l.StartsWith($" {name} [{guest.Pid}]") && long.Parse(l[42..52]) >= 522), "the guest's events");

        // h and back, f with a bad then a good regex.
        pane.Keys("h");
        pane.WaitFor(s => s[0] == "Interactive commands reference", "help");
        pane.Keys("z");
        pane.WaitFor(s => s[0] == "kvm statistics - per guest", "back from help");
        pane.Keys("b");
        pane.Keys("f");
        pane.WaitFor(s => s[0] == "Show statistics for events matching a regex.", "regex prompt");
        pane.Keys("-l", "kvm_(");
        pane.Keys("Enter");
        pane.WaitFor(s => s[5] == "\"kvm_(\": Not a valid regular expression" && s[3] == "New regex:", "the regex rejected, asked again");
        pane.Keys("-l", "kvm_pio");
        pane.Keys("Enter");
        pane.WaitFor(s => s[1].Contains("regex filter: kvm_pio"), "the regex applied");

        // A terminal too small, then big again.
        pane.Resize(60, 8);
        pane.WaitFor(s => s[0] == "kvm statistics - summary" && s[2].TrimEnd() == " Event                                         Total %Total", "the table cut on the right");
        pane.Resize(20, 8);
        pane.WaitFor(s => s[0].StartsWith("Terminal too small (20x8)"), "too-small message");
        pane.Resize(100, 30);
        pane.WaitFor(s => s[1].Contains("regex filter: kvm_pio"), "redrawn at full size");

        pane.Keys("q");
        screen = pane.WaitFor(s => s.Any(l => l.Contains("BEFORE-KVM-STAT")) && !s.Any(l => l.Contains("kvm statistics")), "the shell again");
        Assert.False(pane.AlternateScreen);
        // The terminal is in its normal mode again: the shell echoes what is typed.
        pane.Type("stty -a | grep -o -- ' -\\?icanon' ; echo DONE");
        screen = pane.WaitFor(s => s.Any(l => l == "DONE"), "stty output");
        Assert.Contains(" icanon", screen);
    }

    /// <summary>
    /// The keys that change what is shown: p, g, c, r, s, o, and Enter in the per-guest view. With
    /// -s 25.5 the screen samples only when a key asks for it, so each interval is known exactly.
    /// </summary>
    [Fact]
    public void TheFilterSortAndResetKeysInARealTerminal()
    {
        Require();
        string name = $"keys-{Environment.ProcessId}\nx";
        using var ports = GuestVm.Start(name, vcpus: 1, outs: 500, mmio: 0);
        using var memory = GuestVm.Start($"mem-{Environment.ProcessId}", vcpus: 1, outs: 0, mmio: 200);
        using var pane = new TmuxPane(100, 30);
        pane.Type($"'{PublishedBinary.Path}' -s 25.5 -f 'kvm_(pio|mmio)$'");
        pane.WaitFor(s => s[0] == "kvm statistics - summary" && s[4].Contains("No matching events"), "the first (quarter-second) refresh");

        // p: the prompt lists the guests (names escaped); a pid selects that VM.
        pane.Keys("p");
        string[] prompt = pane.WaitFor(s => s[0] == "Show statistics for specific guest or pid.", "the guest-or-pid prompt");
        Assert.Contains(prompt, l => l.Trim() == $"{ports.Pid}  keys-{Environment.ProcessId}\\nx");
        pane.Keys("-l", ports.Pid.ToString());
        pane.Keys("Enter");
        pane.WaitFor(s => s[0] == $"kvm statistics - pid {ports.Pid} (keys-{Environment.ProcessId}\\nx)", "the pid's title");
        memory.Run();
        ports.Run();
        pane.Keys("Space");
        string[] screen = pane.WaitFor(s => HasRow(s, "kvm_pio", 500), "the selected guest's port writes");
        Assert.DoesNotContain(screen, l => l.StartsWith(" kvm_mmio ", StringComparison.Ordinal));

        // c: back to all VMs; g: a guest by name.
        pane.Keys("c");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the summary after c");
        pane.Keys("g");
        pane.WaitFor(s => s[0] == "Show statistics for specific guest or pid.", "the guest-or-pid prompt after g");
        pane.Keys("-l", memory.Name);
        pane.Keys("Enter");
        pane.WaitFor(s => s[0] == $"kvm statistics - pid {memory.Pid} ({memory.Name})", "the guest's title");
        pane.Keys("c");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the summary again");

        // o: by CurAvg/s the busiest row of the interval leads; by Total the largest. MMIO writes
        // come last, 200 at a time: the MMIO row leads by rate while its total stays below 500.
        ports.Run();
        pane.Keys("Space");
        pane.WaitFor(s => HasRow(s, "kvm_pio", 500), "a second run of port writes");
        memory.Run();
        pane.Keys("Space");
        screen = pane.WaitFor(s => HasRow(s, "kvm_mmio", 200), "the MMIO writes of the last interval");
        Assert.True(RowIndex(screen, "kvm_mmio") < RowIndex(screen, "kvm_pio"), "sorted by CurAvg/s, the MMIO row leads");
        pane.Keys("o");
        memory.Run();
        pane.Keys("Space");
        screen = pane.WaitFor(s => HasRow(s, "kvm_mmio", 400), "a second interval of MMIO writes");
        Assert.True(RowIndex(screen, "kvm_pio") < RowIndex(screen, "kvm_mmio"), "sorted by Total, the port row (500) leads the MMIO row (400)");

        // r: the totals start again; rows that counted nothing since are hidden.
        pane.Keys("r");
        pane.WaitFor(s => s[4].Contains("No matching events reported yet"), "totals reset");

        // s: the interval prompt shows the current one and takes a new one.
        pane.Keys("s");
        pane.WaitFor(s => s[2].StartsWith("Change delay from 25.5s to"), "the interval prompt");
        pane.Keys("-l", "12.5");
        pane.Keys("Enter");
        pane.Keys("s");
        pane.WaitFor(s => s[2].StartsWith("Change delay from 12.5s to"), "the new interval");
        pane.Keys("Escape");

        // b, then Enter on the selected guest: its events.
        pane.Keys("b");
        screen = pane.WaitFor(s => s[0] == "kvm statistics - per guest" && s.Any(l => l.StartsWith($" {memory.Name} [{memory.Pid}]")), "per-guest view");
        int memoryRow = Array.FindIndex(screen, l => l.StartsWith($" {memory.Name} [{memory.Pid}]"));
        for (int row = 3; row < memoryRow; row++)
            pane.Keys("Down");
        pane.Keys("Enter");
        pane.WaitFor(s => s[0] == $"kvm statistics - pid {memory.Pid} ({memory.Name})", "the selected guest's events");
        pane.Keys("q");
        pane.WaitFor(s => !s.Any(l => l.Contains("kvm statistics")), "the shell again");
    }

    private static int RowIndex(string[] screen, string name) =>
        Array.FindIndex(screen, line => line.StartsWith(" " + name + " ", StringComparison.Ordinal));

    [Fact]
    public void SigtermAndADeadGuestLeaveTheTerminalClean()
    {
        Require();
        string name = $"dead-{Environment.ProcessId}";
        var guest = GuestVm.Start(name, vcpus: 1, outs: 10, mmio: 1);
        try
        {
            using var pane = new TmuxPane(100, 30);
            pane.Type($"'{PublishedBinary.Path}' -s 0.2 -p {guest.Pid}");
            pane.WaitFor(s => s[0].StartsWith($"kvm statistics - pid {guest.Pid}"), "the title");
            guest.Run();
            pane.WaitFor(s => HasRow(s, "kvm_pio", 10), "the guest's events");
            guest.Dispose();
            pane.WaitFor(s => s[0].EndsWith("Guest is DEAD"), "the dead guest marker");
            Assert.True(HasRow(pane.Screen(), "kvm_pio", 10));

            int tool = ChildOf(pane.ShellPid);
            Assert.Equal(0, Kill(tool, ChildProcess.SIGTERM));
            pane.WaitFor(s => !s.Any(l => l.Contains("kvm statistics")), "the shell again");
            Assert.False(pane.AlternateScreen);
        }
        finally
        {
            guest.Dispose();
        }
    }

    [Fact]
    public void AHangupRestoresTheTerminal()
    {
        Require();
        using var pane = new TmuxPane(90, 24);
        pane.Type($"'{PublishedBinary.Path}' -s 0.5; echo EXIT=$?");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the screen");
        Assert.True(pane.AlternateScreen);
        Assert.Equal(0, Kill(ChildOf(pane.ShellPid), ChildProcess.SIGHUP));
        pane.WaitFor(s => s.Any(l => l == "EXIT=0"), "a clean exit after SIGHUP");
        Assert.False(pane.AlternateScreen);
    }

    /// <summary>
    /// Where the host's totals fit a kernel's locked-memory limit and the table of processes does
    /// not (before Linux 5.11), b's per-guest view counts with perf counters, and the screen says
    /// so, with what the maps need. Needs no VM.
    /// </summary>
    [Fact]
    public void AFallbackToPerfCountersForTheGuestViewIsSaid()
    {
        Assert.SkipUnless(TmuxPane.Available, "tmux is not installed (./test.sh installs it)");
        using var pane = new TmuxPane(200, 24);
        pane.Type($"{BpfSupport.PretendVariable}={BpfSupport.Memlock} '{PublishedBinary.Path}' -s 0.5 -f 'kvm_pio$'");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the screen");
        pane.Keys("b");
        pane.WaitFor(s => s[^1].Contains("counting with perf counters: BPF is not available (creating the BPF map counts (", StringComparison.Ordinal) &&
            s[^1].Contains(" MiB of maps in all)", StringComparison.Ordinal), "the fallback said on the last row");
        pane.Keys("q");
    }

    /// <summary>
    /// Started with -f, a new filter reopens the counters: those it replaces are closed. Needs no VM
    /// (the tracepoints exist without one).
    /// </summary>
    [Fact]
    public void ChangingFieldsClosesTheCountersItReplaces()
    {
        Assert.SkipUnless(TmuxPane.Available, "tmux is not installed (./test.sh installs it)");
        using var pane = new TmuxPane(90, 24);
        pane.Type($"'{PublishedBinary.Path}' -s 0.5 --engine perf -f 'kvm_pio$'");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the screen");
        int tool = ChildOf(pane.ShellPid);
        int Descriptors() => Directory.GetFiles($"/proc/{tool}/fd").Length;
        int before = Descriptors();
        void WaitFor(Func<int, bool> condition, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition(Descriptors()))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException($"{what}: {Descriptors()} descriptors, {before} at the start");
                Thread.Sleep(100);
            }
        }
        void Filter(string regex)
        {
            pane.Keys("f");
            pane.WaitFor(s => s[0] == "Show statistics for events matching a regex.", "regex prompt");
            pane.Keys("-l", regex);
            pane.Keys("Enter");
        }
        for (int round = 1; round <= 3; round++)
        {
            // A second tracepoint: its counters open as well, more descriptors.
            Filter("kvm_(pio|mmio)$");
            WaitFor(n => n > before, $"a second tracepoint counted (round {round})");
            // Back to one. The replaced counters are closed in the background (each tracepoint's
            // last close waits for an RCU grace period), so the count comes back.
            Filter("kvm_pio$");
            WaitFor(n => n == before, $"replaced counters closed (round {round})");
        }
        pane.Keys("q");
    }

    /// <summary>
    /// 'l' in a run without --latency starts measuring with the real engine and shows the latency
    /// view (what ends an exit on this host named); 'l' again goes back. Needs no VM.
    /// </summary>
    [Fact]
    public void LStartsMeasuringExitLatenciesInARealTerminal()
    {
        Assert.SkipUnless(TmuxPane.Available, "tmux is not installed (./test.sh installs it)");
        using var pane = new TmuxPane(90, 24);
        pane.Type($"'{PublishedBinary.Path}' -s 0.5");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the screen");
        pane.Keys("l");
        pane.WaitFor(s => s[0] == "exit latency - summary" &&
            Regex.IsMatch(s[1], @"^out of the guest: \d+\.\d% of a vCPU(, halted: \d+\.\d%)? \(exits end at (kvm_entry|ioctl\(KVM_RUN\))\)$"), "the latency view");
        pane.Keys("l");
        pane.WaitFor(s => s[0] == "kvm statistics - summary", "the events again");
        pane.Keys("q");
        pane.WaitFor(s => s.Any(l => l.StartsWith('$')) && !pane.AlternateScreen, "the shell again");
    }

    /// <summary>Without tracefs the screen counts debugfs, and says so on its last line, where it is seen (stderr is behind the screen). Needs no VM.</summary>
    [Fact]
    public void WithoutTracefsTheScreenSaysItCountsDebugfs()
    {
        Assert.SkipUnless(TmuxPane.Available, "tmux is not installed (./test.sh installs it)");
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 5);
        using var pane = new TmuxPane(110, 24);
        pane.Type($"KVM_STAT_ROOT='{fixture.Paths.Map("/")}' '{PublishedBinary.Path}' -s 0.5 2>/dev/null");
        pane.WaitFor(s => s[0] == "kvm statistics - summary" && s[^1].StartsWith("tracefs is not mounted", StringComparison.Ordinal), "the screen saying it counts debugfs");
        pane.Keys("q");
        pane.WaitFor(s => s.Any(l => l.StartsWith('$')) && !pane.AlternateScreen, "the shell again");
    }

    [Fact]
    public void WithoutATerminalTheScreenRefusesPlainly()
    {
        (int code, string output, string error) = ChildProcess.RunTool(TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains("standard output is not a terminal", error);
        Assert.Contains("Use -1", error);
    }

    private static int ChildOf(int pid)
    {
        string children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Trim();
        return int.Parse(children.Split(' ')[0]);
    }

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
