using System.Diagnostics;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Integration;

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
        screen.Any(line => line.StartsWith(name + " ", StringComparison.Ordinal) &&
                           line.Length >= 51 && line[41..51].Trim() == total.ToString());

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
        Assert.Equal("Event                                         Total %Total CurAvg/s", pane.Screen()[2]);

        guest.Run();
        pane.WaitFor(s => HasRow(s, "kvm_pio", 500) && HasRow(s, "kvm_mmio", 20) && HasRow(s, "kvm_userspace_exit", 522),
            "exact counts of one run");
        string attributes = pane.ScreenWithAttributes();
        Assert.Contains("\x1b[1mkvm statistics", attributes);
        Assert.Contains("\x1b[7mEvent", attributes);

        // x: children under their parent; counting starts again with the new fields.
        pane.Keys("x");
        pane.WaitFor(s => !HasRow(s, "kvm_pio", 500), "counters reopened");
        guest.Run();
        string[] screen = pane.WaitFor(s => HasRow(s, "  kvm_userspace_exit(IO)", 500), "child rows");
        Assert.True(HasRow(screen, "  kvm_userspace_exit(MMIO)", 20));
        Assert.True(HasRow(screen, "  kvm_userspace_exit(HLT)", 2));
        int parent = Array.FindIndex(screen, l => l.StartsWith("kvm_userspace_exit ", StringComparison.Ordinal));
        Assert.StartsWith("  kvm_userspace_exit(IO)", screen[parent + 1]);

        // b: one row per VM from per-thread counters; Enter drills into the selected one.
        pane.Keys("b");
        pane.WaitFor(s => s[0] == "kvm statistics - per guest" && s.Any(l => l.StartsWith($"{name} [{guest.Pid}]")), "per-guest view");
        guest.Run();
        pane.WaitFor(s => s.Any(l => l.StartsWith($"{name} [{guest.Pid}]") && long.Parse(l[41..51]) >= 522), "the guest's events");

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
        pane.WaitFor(s => s[5].Contains("not a valid regular expression"), "the regex rejected in place");
        pane.Keys("BSpace");
        pane.Keys("-l", "pio");
        pane.Keys("Enter");
        pane.WaitFor(s => s[1].Contains("regex filter: kvm_pio"), "the regex applied");

        // A terminal too small, then big again.
        pane.Resize(40, 8);
        pane.WaitFor(s => s[0].StartsWith("Terminal too small (40x8)"), "too-small message");
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

    [Fact]
    public void SigtermAndADeadGuestLeaveTheTerminalClean()
    {
        Require();
        string name = $"dead-{Environment.ProcessId}";
        var guest = GuestVm.Start(name, vcpus: 1, outs: 10, mmio: 1);
        using var pane = new TmuxPane(100, 30);
        try
        {
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

    [Fact]
    public void ChangingFieldsClosesTheCountersItReplaces()
    {
        Require();
        using var pane = new TmuxPane(90, 24);
        pane.Type($"'{PublishedBinary.Path}' -s 0.5");
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
        // x opens the children's counters as well: more descriptors.
        pane.Keys("x");
        WaitFor(n => n > before, "children counted");
        // x again: back to the parents alone. The replaced counters are closed in the background
        // (each tracepoint's last close waits for an RCU grace period), so the count comes back.
        pane.Keys("x");
        WaitFor(n => n == before, "replaced counters closed");
        for (int i = 0; i < 4; i++)
            pane.Keys("x");
        WaitFor(n => n == before, "no descriptors left behind after more changes");
        pane.Keys("q");
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
