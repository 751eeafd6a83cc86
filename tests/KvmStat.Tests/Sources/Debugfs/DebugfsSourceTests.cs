using KvmStat.Guests;
using System.Text;
using KvmStat.Sources;
using KvmStat.Sources.Debugfs;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Debugfs;

public class DebugfsSourceTests
{
    /// <summary>Root reads every file; kernel lockdown is simulated by failing chosen names with EPERM.</summary>
    private sealed class LockedDown(params string[] names) : StatFileReader
    {
        internal override int TryReadInt64(int directory, byte[] nameZ, out long value)
        {
            string path = Encoding.UTF8.GetString(nameZ, 0, nameZ.Length - 1);
            if (names.Contains(Path.GetFileName(path)))
            {
                value = 0;
                return Interop.Errno.EPERM;
            }
            return base.TryReadInt64(directory, nameZ, out value);
        }
    }

    private static FixtureRoot TwoVms()
    {
        var fixture = new FixtureRoot();
        foreach (string folder in new[] { "", "12-5/", "312-9/" })
        {
            fixture.AddDebugfsStat(folder + "exits", 100);
            fixture.AddDebugfsStat(folder + "halt_exits", 10);
            fixture.AddDebugfsStat(folder + "pages_4k", 1000, writable: false);
        }
        return fixture;
    }

    private static long[] Read(IStatsSource source)
    {
        long[] values = new long[source.Fields.Count];
        source.Read(values);
        return values;
    }

    private static long Value(IStatsSource source, long[] values, string name) =>
        values[source.Fields.ToList().FindIndex(f => f.Name == name)];

    /// <summary>Folders of VMs that come and go are let go; what their counters counted stays in the host's totals.</summary>
    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoFoldersBehind()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { });
        var readings = new List<VmReading>();
        long[] host = new long[1];
        source.Read(host);
        for (int round = 0; round < 10; round++)
        {
            for (int vm = 0; vm < 1000; vm++)
                fixture.AddDebugfsStat($"{round * 1000 + vm + 1}-12/exits", 0);
            source.Read(readings);
            Assert.Equal(1000, readings.Count(r => r.Kind == VmRowKind.Vm));
            Assert.Equal(1000, source.FolderCount);
            for (int vm = 0; vm < 1000; vm++)
                fixture.SetDebugfsStat($"{round * 1000 + vm + 1}-12/exits", 3);
            source.Read(readings);
            Assert.Equal(3, readings[0].Values[0]);
            for (int vm = 0; vm < 1000; vm++)
                fixture.RemoveDebugfsVm($"{round * 1000 + vm + 1}-12");
            source.Read(readings);
            Assert.Equal((round + 1) * 3000, Assert.Single(readings).Values[0]);
            Assert.Equal(0, source.FolderCount);
            source.Read(host);
            Assert.Equal((round + 1) * 3000, host[0]);
        }
    }

    /// <summary>As the reference: debugfs's sums of nanoseconds are no fields (they would count as events).</summary>
    [Fact]
    public void TheTimeSumsAreLeftOutAsTheReferenceLeavesThemOut()
    {
        using FixtureRoot fixture = TwoVms();
        foreach (string name in new[] { "halt_poll_fail_ns", "halt_poll_success_ns", "halt_wait_ns" })
            fixture.AddDebugfsStat(name, 5_000_000);
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Create("halt"), 0, false, new StatFileReader(), _ => { });
        Assert.Equal(["halt_exits"], source.Fields.Select(f => f.Name));
        Assert.DoesNotContain("halt_wait_ns", DebugfsSource.StatNames(fixture.Paths));
    }

    [Fact]
    public void CountersCountFromTheStartAndGaugesShowTheirValue()
    {
        using FixtureRoot fixture = TwoVms();
        var warnings = new List<string>();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), warnings.Add);

        Assert.Equal([("exits", StatKind.Counter), ("halt_exits", StatKind.Counter), ("pages_4k", StatKind.Gauge)],
            source.Fields.Select(f => (f.Name, f.Kind)));
        long[] first = Read(source);
        Assert.Equal(0, Value(source, first, "exits"));
        Assert.Equal(2000, Value(source, first, "pages_4k"));

        fixture.SetDebugfsStat("12-5/exits", 130);
        fixture.SetDebugfsStat("312-9/exits", 105);
        fixture.SetDebugfsStat("312-9/pages_4k", 900);
        long[] second = Read(source);
        Assert.Equal(35, Value(source, second, "exits"));
        Assert.Equal(1900, Value(source, second, "pages_4k"));
        Assert.Empty(warnings);
    }

    [Fact]
    public void IncludePastCountsFromEachVmsStart()
    {
        using FixtureRoot fixture = TwoVms();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, includePast: true, new StatFileReader(), _ => { });
        Assert.Equal(200, Value(source, Read(source), "exits"));
    }

    [Fact]
    public void APidMatchesWholeFolderPidsOnly()
    {
        using FixtureRoot fixture = TwoVms();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 12, includePast: true, new StatFileReader(), _ => { });
        // 12 must not match 312-9 (the reference matched "12-" as a substring).
        Assert.Equal(100, Value(source, Read(source), "exits"));
        Assert.Equal(1, source.FolderCountFor(12));
        Assert.Equal(0, source.FolderCountFor(1));
    }

    [Fact]
    public void AVmThatStartsLaterCountsFromItsStartAndOneThatEndsKeepsItsCounts()
    {
        using FixtureRoot fixture = TwoVms();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { });
        _ = Read(source);
        fixture.SetDebugfsStat("12-5/exits", 150);
        Assert.Equal(50, Value(source, Read(source), "exits"));

        fixture.AddDebugfsStat("40-3/exits", 7);
        fixture.AddDebugfsStat("40-3/halt_exits", 1);
        fixture.AddDebugfsStat("40-3/pages_4k", 64, writable: false);
        fixture.RemoveDebugfsVm("12-5");
        long[] values = Read(source);
        Assert.Equal(57, Value(source, values, "exits"));
        Assert.Equal(1064, Value(source, values, "pages_4k"));

        // Each VM's values: the guests and the VMs that exited add up to the host's counters.
        var readings = new List<VmReading>();
        source.Read(readings);
        int exits = source.Fields.ToList().FindIndex(f => f.Name == "exits");
        Assert.Equal([(312, VmRowKind.Vm, 0L), (40, VmRowKind.Vm, 7L), (0, VmRowKind.ExitedVms, 50L)],
            readings.Select(r => (r.Pid, r.Kind, r.Values[exits])).OrderBy(r => r.Kind).ThenByDescending(r => r.Pid));
        Assert.Equal(57, readings.Sum(r => r.Values[exits]));
    }

    /// <summary>
    /// A VM made under a dead VM's folder name (a new process under its pid, with the same VM
    /// descriptor number) is another VM: the host keeps what the dead one counted, and the new one
    /// counts from its start as a new instance of the pid.
    /// </summary>
    [Fact]
    public void AVmMadeAgainUnderADeadVmsFolderNameCountsAnew()
    {
        using FixtureRoot fixture = TwoVms();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { });
        var readings = new List<VmReading>();
        source.Read(readings);
        fixture.SetDebugfsStat("12-5/exits", 150);
        source.Read(readings);
        VmReading dead = readings.Single(r => r.Pid == 12);
        (long deadInstance, long deadExits) = (dead.Instance, dead.Values[0]);
        Assert.Equal(50, deadExits);
        long instanceOf312 = readings.Single(r => r.Pid == 312).Instance;

        // Made while the old folder still exists, so that it is surely another inode.
        fixture.AddDebugfsStat("again/exits", 7);
        fixture.AddDebugfsStat("again/halt_exits", 0);
        fixture.AddDebugfsStat("again/pages_4k", 10, writable: false);
        fixture.RemoveDebugfsVm("12-5");
        Directory.Move(fixture.Paths.Map("/sys/kernel/debug/kvm/again"), fixture.Paths.Map("/sys/kernel/debug/kvm/12-5"));

        Assert.Equal(57, Value(source, Read(source), "exits"));
        source.Read(readings);
        VmReading born = readings.Single(r => r.Pid == 12);
        Assert.Equal(7, born.Values[0]);
        Assert.NotEqual(deadInstance, born.Instance);
        Assert.Equal(instanceOf312, readings.Single(r => r.Pid == 312).Instance);
    }

    /// <summary>A refresh of the VMs already followed allocates nothing, for the host and per VM.</summary>
    [Fact]
    public void AReadInSteadyStateAllocatesNothing()
    {
        using FixtureRoot fixture = TwoVms();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { });
        var readings = new List<VmReading>();
        long[] host = new long[source.Fields.Count];
        Assert.Equal(0, Allocations.InSteadyState(() =>
        {
            source.Read(host);
            source.Read(readings);
        }));
        Assert.Equal(2, readings.Count(r => r.Kind == VmRowKind.Vm));
    }

    /// <summary>A file that holds no number (or one beyond a signed 64-bit count) is said once, and keeps its last value: never a silent zero.</summary>
    [Fact]
    public void AFileThatHoldsNoNumberIsSaidOnceAndKeepsItsLastValue()
    {
        using FixtureRoot fixture = TwoVms();
        var warnings = new List<string>();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), warnings.Add);
        _ = Read(source);
        fixture.SetDebugfsStat("12-5/exits", 130);
        Assert.Equal(30, Value(source, Read(source), "exits"));
        File.WriteAllText(fixture.Paths.Map("/sys/kernel/debug/kvm/12-5/exits"), "hello\n");
        File.WriteAllText(fixture.Paths.Map("/sys/kernel/debug/kvm/312-9/halt_exits"), "99999999999999999999999\n");
        Assert.Equal(30, Value(source, Read(source), "exits"));
        Assert.Equal(0, Value(source, Read(source), "halt_exits"));
        Assert.Equal(["debugfs 12-5/exits holds no decimal number: it keeps its last value (0 at first).",
            "debugfs 312-9/halt_exits holds a number beyond a signed 64-bit count: it keeps its last value (0 at first)."], warnings);
    }

    [Fact]
    public void LockedDownCountersAreLeftOutAndNamedNeverZero()
    {
        using FixtureRoot fixture = TwoVms();
        var warnings = new List<string>();
        using var source = new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new LockedDown("exits", "halt_exits"), warnings.Add);

        Assert.Equal(["pages_4k"], source.Fields.Select(f => f.Name));
        Assert.Equal(["exits", "halt_exits"], source.LockedFields);
        string warning = Assert.Single(warnings);
        Assert.Contains("2 of 3 debugfs statistics are left out (exits, halt_exits)", warning);
        Assert.Contains("lockdown", warning);
    }

    [Fact]
    public void WhenEverySelectedFieldIsLockedItIsAnError()
    {
        using FixtureRoot fixture = TwoVms();
        DebugfsLockedException e = Assert.Throws<DebugfsLockedException>(() =>
            new DebugfsSource(fixture.Paths, FieldFilter.Create("exits"), 0, false, new LockedDown("exits"), _ => { }));
        Assert.Contains("lockdown", e.Message);
        Assert.Contains("tracepoints", e.Fix);
        Assert.True(e.Lockdown);
    }

    [Fact]
    public void MissingDebugfsSaysHowToMountIt()
    {
        using var fixture = new FixtureRoot();
        EnvironmentException e = Assert.Throws<EnvironmentException>(() =>
            new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { }));
        Assert.Contains("debugfs is not mounted", e.Message);
        Assert.Contains("mount -t debugfs", e.Fix);
    }

    /// <summary>
    /// debugfs mounted without a kvm folder: why KVM made none is named (not a mount to make), as
    /// --doctor names it: KVM in the kernel but unusable, built in or a loaded module, or no module.
    /// </summary>
    [Theory]
    [InlineData(true, false, false, "debugfs has no kvm folder", "although /dev/kvm exists", "without -d")]
    [InlineData(false, true, false, "KVM is built in but not usable here (no /dev/kvm)", "not binding", "No VM can run")]
    [InlineData(false, true, true, "KVM is loaded but not usable here (no /dev/kvm)", "not binding", "No VM can run")]
    [InlineData(false, false, false, "the KVM module is not loaded", "debugfs has no kvm folder", "modprobe kvm_intel")]
    public void AMountedDebugfsWithoutKvmNamesWhyKvmIsNotThere(bool devKvm, bool module, bool loadable, string cause, string more, string fix)
    {
        using var fixture = new FixtureRoot();
        fixture.WriteFile("/sys/kernel/debug/sched/x", "1\n");
        fixture.WriteFile("/dev/kmsg", "6,255,273444,-;kvm-pvm: this kernel is itself a kvm-pvm guest; not binding\n");
        if (!devKvm)
            File.Delete(fixture.Paths.DevKvm);
        if (!module)
            Directory.Delete(fixture.Paths.Map("/sys/module/kvm"));
        if (loadable)
            fixture.WriteFile("/sys/module/kvm/initstate", "live\n");
        EnvironmentException e = Assert.Throws<EnvironmentException>(() =>
            new DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { }));
        Assert.Contains(cause, e.Message);
        Assert.Contains(more, e.Message);
        Assert.Contains(fix, e.Fix);
        Assert.DoesNotContain("mount", e.Fix);
    }

    [Theory]
    [InlineData("1234-15", 1234L << 32 | 15)]
    [InlineData("7-0", 7L << 32)]
    [InlineData("exits", -1)]
    [InlineData("-5", -1)]
    [InlineData("12-", -1)]
    [InlineData("12-x", -1)]
    public void ParsesVmFolderNames(string name, long expected) =>
        Assert.Equal(expected, VmFolderName.Parse(Encoding.ASCII.GetBytes(name)));
}
