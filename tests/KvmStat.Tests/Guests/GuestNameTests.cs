using CsCheck;
using KvmStat.Guests;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Guests;

public class GuestNameTests
{
    [Theory]
    [InlineData("vm1", "vm1")]
    [InlineData("guest=vm1,debug-threads=on", "vm1")]
    [InlineData("debug-threads=on,guest=vm1", "vm1")]
    [InlineData("vm1,process=qemu-vm1", "vm1")]
    [InlineData("guest=a,b", "b")]          // a plain item wins over guest=
    [InlineData("a,,b", "a,b")]             // ",," is a literal comma
    [InlineData("a,,,b", "a,")]             // "a," then the item "b"... the first plain item is "a,"
    [InlineData("guest=x,,y", "x,y")]
    [InlineData("process=p", "")]
    [InlineData("", "")]
    public void ReadsTheNameFromAnOptionValue(string value, string expected) =>
        Assert.Equal(expected, GuestName.FromOptionValue(value));

    [Fact]
    public void FindsMinusNameInACommandLine()
    {
        Assert.Equal("web", GuestName.FromCmdline("qemu\0-m\01G\0-name\0web\0-enable-kvm\0"));
        Assert.Equal("db", GuestName.FromCmdline("qemu\0--name\0guest=db\0"));
        Assert.Equal("last", GuestName.FromCmdline("qemu\0-name\0first\0-name\0last\0"));
        Assert.Null(GuestName.FromCmdline("qemu\0-m\01G\0"));
        Assert.Null(GuestName.FromCmdline("bash\0-c\0echo -name x\0"));
        Assert.Null(GuestName.FromCmdline("qemu\0-name"));
    }

    /// <summary>Any name, written the way QEMU wants it (commas doubled) among other options, reads back.</summary>
    [Fact]
    public void QemuEscapedNamesReadBack()
    {
        Gen<string> names = Gen.String[Gen.Char["abc,=xyz \x1b\u202e-_"], 1, 16];
        Gen.Select(names, Gen.Bool, Gen.Bool).Sample((name, asGuestKey, withOptions) =>
        {
            string escaped = name.Replace(",", ",,");
            string value = asGuestKey ? "guest=" + escaped : escaped;
            if (withOptions)
                value = asGuestKey ? "debug-threads=on," + value : value + ",debug-threads=on";
            // A name with '=' can only be given as guest=...; as a plain item it would read as a key.
            if (!asGuestKey && name.Contains('='))
                return;
            Assert.Equal(name, GuestName.FromOptionValue(value));
        });
    }

    private static bool IsInert(char c) =>
        !char.IsControl(c) && c is not ('\u061c' or '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069'));

    /// <summary>
    /// Any bytes as /proc/PID/cmdline: a name or none, never a crash; shown escaped it holds no
    /// control or bidirectional character; in JSON it reads back as itself; as a Prometheus label
    /// value it stays on its line.
    /// </summary>
    [Fact]
    public void AnyCommandLineGivesANameThatIsSafeEverywhereItIsShown()
    {
        Gen<byte[]> argument = Gen.OneOf(
            Gen.Const("-name"u8.ToArray()), Gen.Const("--name=guest=a,,b"u8.ToArray()), Gen.Const("\u202e\u001b[2J\n\"\\"u8.ToArray()),
            Gen.Byte.Array[0, 12]);
        argument.Array[0, 8].Sample(arguments =>
        {
            byte[] cmdline = [.. arguments.SelectMany(a => a.Append((byte)0))];
            string? name = GuestName.FromCmdline(System.Text.Encoding.UTF8.GetString(cmdline));
            if (name is null)
                return;
            Assert.All(Text.Escape(name), c => Assert.True(IsInert(c), $"U+{(int)c:X4} shown raw"));

            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteEndObject();
            }
            using System.Text.Json.JsonDocument read = System.Text.Json.JsonDocument.Parse(buffer.WrittenMemory);
            Assert.Equal(name, read.RootElement.GetProperty("name").GetString());

            var family = new KvmStat.Exporter.MetricFamily("kvm_guest_events", "counter", "help");
            family.Counter([("guest", name)], 1);
            string exposition = new KvmStat.Exporter.MetricsWriter(openMetrics: false).Write([family]);
            Assert.Equal(3, exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        });
    }

    [Fact]
    public void AMegabyteNameIsReadWhole()
    {
        string name = new('x', 1 << 20);
        Assert.Equal(name, GuestName.FromCmdline($"qemu\0-name\0guest={name}\0"));
    }

    [Fact]
    public void FinderListsGuestsAndResolvesNamesExactly()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(12, ["qemu", "-name", "alpha"]);
        fixture.AddProcess(312, ["qemu", "-name", "guest=alpha,debug-threads=on"]);
        fixture.AddProcess(400, ["qemu", "-name", "beta"]);
        fixture.AddProcess(500, ["bash"]);
        foreach (int vm in new[] { 12, 312, 400 })
            fixture.AddDescriptor(vm, 10, "anon_inode:kvm-vm");
        // Any user may name a process like a guest: one that holds no VM is none.
        fixture.AddProcess(600, ["python3", "impostor.py", "-name", "alpha"]);
        fixture.AddDescriptor(600, 3, "/dev/null");
        var finder = new GuestFinder(fixture.Paths);

        Assert.Equal([new GuestProcess(12, "alpha"), new GuestProcess(312, "alpha"), new GuestProcess(400, "beta")], finder.ListGuests());
        Assert.Equal([12, 312], finder.PidsNamed("alpha"));
        Assert.Empty(finder.PidsNamed("alp"));
        Assert.Equal("alpha", finder.NameOf(600));
        Assert.Null(finder.NameOf(500));
        Assert.Null(finder.NameOf(999));
    }

    [Fact]
    public void TellsAThreadFromAProcess()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(700, ["qemu", "-name", "x"], threads: [700, 701]);
        fixture.AddProcess(701, ["qemu", "-name", "x"], tgid: 700);
        var finder = new GuestFinder(fixture.Paths);
        Assert.Equal(700, finder.ThreadGroupOf(701));
        Assert.Equal(700, finder.ThreadGroupOf(700));
        Assert.Null(finder.ThreadGroupOf(702));
    }

    [Fact]
    public void APidIsAVmToWatchOnlyIfARunningProcessHoldsOne()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(312, ["qemu"], threads: [312, 313]);
        fixture.AddDebugfsStat("312-7/exits", 5);
        fixture.AddDescriptor(312, 7, "anon_inode:kvm-vm");
        fixture.AddProcess(313, ["qemu"], tgid: 312);
        fixture.AddProcess(12, ["bash"]);
        fixture.AddProcess(900, ["qemu"]);
        fixture.AddDebugfsStat("900-3/exits", 5);
        foreach (int pid in new[] { 312, 313, 12 })
            fixture.MarkRunning(pid);
        fixture.MarkZombie(900);
        var finder = new GuestFinder(fixture.Paths);

        Assert.Equal(new PidCheck(PidVerdict.Vm, 312), finder.CheckPid(312));
        Assert.Equal(new PidCheck(PidVerdict.Thread, 312), finder.CheckPid(313));
        Assert.Equal(new PidCheck(PidVerdict.NotVm, 12), finder.CheckPid(12));
        Assert.Equal(PidVerdict.NotRunning, finder.CheckPid(900).Verdict);
        Assert.Equal(PidVerdict.NotRunning, finder.CheckPid(4242).Verdict);
    }

    /// <summary>
    /// Any user's command line may be megabytes long: the lists read a whole one only of a process
    /// that holds a VM, whose -name may come after the first 64 KiB.
    /// </summary>
    [Fact]
    public void ALongCommandLineIsReadWholeOnlyOfAVm()
    {
        using var fixture = new FixtureRoot();
        string padding = new('x', 2 << 20);
        fixture.AddProcess(600, ["python3", padding, "-name", "impostor"]);
        fixture.AddProcess(700, ["qemu", padding, "-name", "long"]);
        fixture.AddDescriptor(700, 9, "anon_inode:kvm-vm");
        fixture.AddProcess(800, ["qemu", "-name", "short"]);
        fixture.AddDescriptor(800, 9, "anon_inode:kvm-vm");
        fixture.AddProcess(900, ["bash"]);
        foreach (int pid in new[] { 600, 700, 800, 900 })
            fixture.MarkRunning(pid);
        Assert.Equal([(700, "long"), (800, "short")], new GuestFinder(fixture.Paths).ListGuests().Select(g => (g.Pid, g.Name)));
    }

    /// <summary>
    /// Without debugfs only descriptors tell, and any user's processes may share thousands each: a
    /// list looks at no more than its budget of them, and says how many named processes it left out.
    /// </summary>
    [Fact]
    public void WithoutDebugfsAListLooksAtABudgetOfDescriptorsAndSaysWhatItLeftOut()
    {
        using var fixture = new FixtureRoot();
        foreach (int pid in new[] { 10, 20, 30 })
        {
            fixture.AddProcess(pid, ["python3", "-name", "victim"]);
            for (int fd = 0; fd < 8; fd++)
                fixture.AddDescriptor(pid, fd, "/dev/null");
        }
        fixture.AddProcess(40, ["qemu", "-name", "real"]);
        fixture.AddDescriptor(40, 0, "anon_inode:kvm-vm");
        var said = new List<string>();
        var finder = new GuestFinder(fixture.Paths) { Warn = said.Add };
        Assert.Equal([(40, "real")], finder.ListGuests().Select(g => (g.Pid, g.Name)));
        Assert.Empty(said);
        Assert.Empty(finder.ListGuests(budget: 0));
        Assert.StartsWith("4 process(es) named as guests were not looked at for a VM", Assert.Single(said));
    }

    /// <summary>
    /// -g NAME asks only the processes of that name about their descriptors: on a host of thousands
    /// of VMs without debugfs, a guest a budgeted list of every guest would not reach is found.
    /// </summary>
    [Fact]
    public void AGuestByNameIsFoundWhateverTheOtherProcessesHold()
    {
        using var fixture = new FixtureRoot();
        foreach (int pid in new[] { 10, 20, 30 })
        {
            fixture.AddProcess(pid, ["qemu", "-name", $"vm{pid}"]);
            for (int fd = 0; fd < 8; fd++)
                fixture.AddDescriptor(pid, fd, "/dev/null");
            fixture.AddDescriptor(pid, 8, "anon_inode:kvm-vm");
        }
        var finder = new GuestFinder(fixture.Paths) { ListBudget = 1 };
        Assert.Single(finder.ListGuests());
        foreach (int pid in new[] { 10, 20, 30 })
            Assert.Equal([pid], finder.PidsNamed($"vm{pid}"));
        Assert.Empty(finder.PidsNamed("vm"));

        // A process of another name is never asked, whatever the length of its command line.
        long Cost()
        {
            long before = finder.DescriptorsExamined;
            Assert.Equal([10], finder.PidsNamed("vm10"));
            return finder.DescriptorsExamined - before;
        }
        long alone = Cost();
        fixture.AddProcess(40, ["python3", new string('x', 70_000), "-name", "other"]);
        for (int fd = 0; fd < 8; fd++)
            fixture.AddDescriptor(40, fd, "/dev/null");
        Assert.Equal(alone, Cost());
    }

    /// <summary>
    /// A VM is its own descriptor: a debugfs folder names the pid that made a VM, which may have
    /// handed it on and exited, the pid then anyone's. Only where descriptors cannot be read does
    /// the folder tell, by the whole pid.
    /// </summary>
    [Fact]
    public void AVmIsItsDescriptorAndItsDebugfsFolderTellsOnlyWhereDescriptorsCannotBeRead()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(12, ["qemu"]);
        fixture.AddProcess(312, ["qemu", "-name", "victim"]);
        fixture.MarkRunning(312);
        fixture.AddDebugfsStat("312-7/exits", 5);
        var finder = new GuestFinder(fixture.Paths);
        Assert.False(finder.HoldsVm(312));
        Assert.Equal(PidVerdict.NotVm, finder.CheckPid(312).Verdict);
        Assert.Empty(finder.PidsNamed("victim"));
        // The rows of VMs (a debugfs folder's, say) are not named after it either.
        Assert.Null(finder.NameOfVm(312));

        fixture.AddDescriptor(312, 7, "anon_inode:kvm-vm");
        Assert.True(new GuestFinder(fixture.Paths).HoldsVm(312));
        Assert.Equal("victim", new GuestFinder(fixture.Paths).NameOfVm(312));

        Directory.Delete(fixture.Paths.Map("/proc/312/fd"), recursive: true);
        Directory.Delete(fixture.Paths.Map("/proc/12/fd"), recursive: true);
        finder = new GuestFinder(fixture.Paths);
        Assert.True(finder.HoldsVm(312));
        Assert.False(finder.HoldsVm(12));
    }

    /// <summary>
    /// Where a process's descriptors cannot be read (a service without CAP_SYS_PTRACE, or a
    /// process gone) but debugfs lists the VMs, a pid it does not list made no VM: a process named
    /// like a guest is none. Without debugfs either, it cannot be told, and -p/-g accept it.
    /// </summary>
    [Fact]
    public void DebugfsTellsWhereDescriptorsCannotBeRead()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(600, ["python3", "impostor.py", "-name", "web01"]);
        fixture.MarkRunning(600, "python3");
        Directory.Delete(fixture.Paths.Map("/proc/600/fd"));
        var finder = new GuestFinder(fixture.Paths);
        Assert.Null(finder.HoldsVm(600));
        Assert.Equal(KvmStat.Guests.PidVerdict.Unconfirmed, finder.CheckPid(600).Verdict);
        fixture.AddDebugfsStat("700-12/exits", 1);
        Assert.False(finder.HoldsVm(600));
        Assert.Empty(finder.PidsNamed("web01"));
        Assert.Equal(KvmStat.Guests.PidVerdict.NotVm, finder.CheckPid(600).Verdict);
    }
}
