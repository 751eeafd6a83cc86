using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Stats;

public class SamplerTests
{
    /// <summary>A capture that takes as long as it likes (a large host under load).</summary>
    private sealed class SlowCapture(ManualTime time, Queue<TimeSpan> takes) : ICapture
    {
        public void Capture() => time.Advance(takes.Dequeue());
    }

    /// <summary>
    /// A sample is one moment, taken as its captures begin: the interval of its values and its time
    /// agree however long each capture takes, so records' times and intervals add up alike.
    /// </summary>
    [Fact]
    public void ASampleIsOneMomentHoweverLongItsCaptureTakes()
    {
        var time = new ManualTime();
        var capture = new SlowCapture(time, new([TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(4.5), TimeSpan.FromSeconds(0.1)]));
        using Sampler sampler = Samplers.Of(time, [new FakeSource(FakeSource.Counter("kvm_pio"))], capture: capture);
        DateTimeOffset start = time.GetLocalNow();
        sampler.Sample();
        DateTimeOffset first = sampler.Snapshot.Time;
        Assert.Equal(start, first);
        time.Advance(TimeSpan.FromSeconds(1));
        sampler.Sample();
        DateTimeOffset second = sampler.Snapshot.Time;
        Assert.Equal((second - first).TotalSeconds, sampler.Snapshot.IntervalSeconds, 9);
        time.Advance(TimeSpan.FromSeconds(1));
        sampler.Sample();
        Assert.Equal((sampler.Snapshot.Time - second).TotalSeconds, sampler.Snapshot.IntervalSeconds, 9);
        Assert.Equal(5.5, sampler.Snapshot.IntervalSeconds, 9);
    }

    /// <summary>A sample of VMs already followed (host totals and each VM's values) allocates nothing: it runs at every interval.</summary>
    [Fact]
    public void ASampleInSteadyStateAllocatesNothing()
    {
        using var fixture = new FixtureRoot();
        foreach (string folder in new[] { "", "12-5/", "312-9/" })
        {
            fixture.AddDebugfsStat(folder + "exits", 100);
            fixture.AddDebugfsStat(folder + "pages_4k", 1000, writable: false);
        }
        var time = new ManualTime();
        var selection = FieldFilter.Default;
        var host = new KvmStat.Sources.Debugfs.DebugfsSource(fixture.Paths, selection, 0, false, new KvmStat.Sources.Debugfs.StatFileReader(), _ => { });
        var perVm = new KvmStat.Sources.Debugfs.DebugfsSource(fixture.Paths, selection, 0, false, new KvmStat.Sources.Debugfs.StatFileReader(), _ => { });
        using Sampler sampler = Samplers.Of(time, [host], perVm, nameOf: pid => $"vm{pid}");
        Assert.Equal(0, Allocations.InSteadyState(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            sampler.Sample();
        }));
        Assert.Equal(2, sampler.Snapshot.Guests!.Guests.Count);
    }

    /// <summary>The VMs new at a sample are named after one listing of debugfs's folders, not one each.</summary>
    [Fact]
    public void ASampleNamesItsNewVmsAfterOneLookAtTheHost()
    {
        using var fixture = new FixtureRoot();
        foreach (int pid in new[] { 12, 13, 14 })
        {
            fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"]);
            fixture.MarkRunning(pid);
            fixture.AddDescriptor(pid, 5, "anon_inode:kvm-vm");
            fixture.AddDebugfsStat($"{pid}-5/exits", 100);
        }
        var finder = new KvmStat.Guests.GuestFinder(fixture.Paths);
        var perVm = new KvmStat.Sources.Debugfs.DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new KvmStat.Sources.Debugfs.StatFileReader(), _ => { });
        using Sampler sampler = Samplers.Of(new ManualTime(), [], perVm, nameOf: finder.NameOfVm, finder: finder);
        sampler.Sample();
        Assert.Equal(["vm12", "vm13", "vm14"], sampler.Snapshot.Guests!.Guests.Select(g => g.Name).Order());
        Assert.Equal(1, finder.FolderListings);
    }

    /// <summary>Watching one VM (-p), a sample also asks whether it still runs: that too allocates nothing.</summary>
    [Fact]
    public void ASampleOfAWatchedVmAllocatesNothing()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(12, ["qemu-system-x86_64"]);
        fixture.MarkRunning(12);
        var time = new ManualTime();
        var guests = new KvmStat.Guests.GuestFinder(fixture.Paths);
        using Sampler sampler = Samplers.Of(time, [new FakeSource(FakeSource.Counter("kvm_pio"))], vm: new WatchedVm(12, "web"), isRunning: guests.IsRunning);
        Assert.Equal(0, Allocations.InSteadyState(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            sampler.Sample();
        }));
        Assert.True(sampler.Snapshot.VmAlive);
    }

    private sealed class BinaryVms(List<KvmStat.Sources.BinaryStats.VmStatsBlocks> vms) : KvmStat.Sources.BinaryStats.IVmStatsReader
    {
        public void Read(List<KvmStat.Sources.BinaryStats.VmStatsBlocks> into)
        {
            into.Clear();
            into.AddRange(vms);
        }

        public void ReportHealth(List<SourceHealth> into)
        {
        }

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// The VMs of the binary statistics are named by the sampler, once for each process (its
    /// blocks), so that outputs read no /proc; a new process under a dead VM's pid is named anew.
    /// </summary>
    [Fact]
    public void TheSamplerNamesEachVmOfTheBinaryStatisticsOnce()
    {
        var vms = new List<KvmStat.Sources.BinaryStats.VmStatsBlocks> { new(7), new(9) };
        var lookups = new List<int>();
        string name = "web01";
        var time = new ManualTime();
        using Sampler sampler = Samplers.Of(time, [], binary: new BinaryVms(vms), nameOf: pid => { lookups.Add(pid); return pid == 7 ? name : null; });
        for (int i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            sampler.Sample();
        }
        Assert.Equal(["web01", ""], sampler.Snapshot.Binary!.Select(vm => vm.Name));
        Assert.Equal([7, 9], lookups);

        name = "db01";
        vms[0] = new(7);
        sampler.Sample();
        Assert.Equal("db01", sampler.Snapshot.Binary![0].Name);
        Assert.Equal([7, 9, 7], lookups);
    }
}

public class OutsideRemainderTests
{
    private static (long Guests, long Outside, long Exited) Rows(Sampler sampler, int field)
    {
        IGuestValues guests = sampler.Snapshot.Guests!;
        long Of(VmRowKind kind) => guests.Others.Where(o => o.Kind == kind).Sum(o => o.FieldTotals[field]);
        return (guests.Guests.Sum(g => g.FieldTotals[field]), Of(VmRowKind.OutsideVms), Of(VmRowKind.ExitedVms));
    }

    /// <summary>
    /// Where the per-VM source counts only VMs (the perf engine after a fallback), the host's other
    /// events are the row outside VMs: every sample's rows add up to what the host counted since the
    /// guests' first sample (its events before are no row's), a VM that exits takes its counts to the
    /// exited VMs' row without moving them outside, and the row never goes back when the VMs' counts
    /// catch up with the host's (read after them).
    /// </summary>
    [Fact]
    public void WhereTheSourceSeesOnlyVmsTheHostsOtherEventsAreARowOutsideVms()
    {
        var time = new ManualTime();
        var host = new FakeSource(FakeSource.Counter("kvm_mmio"), FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_pio(IN)", "kvm_pio"));
        var perVm = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_mmio")) { OnlyVms = true };
        using Sampler sampler = Samplers.Of(time, [host], perVm, nameOf: pid => $"vm{pid}");
        void Sample(long hostPio, params (int Pid, long Pio)[] vms)
        {
            host.Set("kvm_pio", hostPio);
            perVm.Vms.Clear();
            foreach ((int pid, long pio) in vms)
                perVm.Set(pid, "kvm_pio", pio);
            time.Advance(TimeSpan.FromSeconds(1));
            sampler.Sample();
        }

        Sample(1000, (10, 10));
        Assert.Equal((10, 0, 0), Rows(sampler, 0));
        Sample(1100, (10, 40), (11, 20));
        Assert.Equal((60, 50, 0), Rows(sampler, 0));
        GuestStat outside = Assert.Single(sampler.Snapshot.Guests!.Others, o => o.Kind == VmRowKind.OutsideVms);
        Assert.Equal(("(outside VMs)", 50, 50), (outside.Name, outside.Total, outside.Delta));
        // VM 10 exits with 45: its counts are the exited VMs', not outside.
        perVm.Exited = [45, 0];
        Sample(1150, (11, 30));
        Assert.Equal((30, 85, 45), Rows(sampler, 0));
        Assert.Equal(1150 - (1000 - 10), Rows(sampler, 0).Guests + Rows(sampler, 0).Outside + Rows(sampler, 0).Exited);
        // VM 11's events between the two reads of the last sample: the host had them first.
        Sample(1150, (11, 35));
        Assert.Equal((35, 85, 45), Rows(sampler, 0));
        Assert.Equal(0, outside.Delta);
        // A field the host does not count per VM's name is nobody's outside row (kvm_mmio here: 0).
        Assert.Equal((0, 0, 0), Rows(sampler, 1));
    }

    /// <summary>A source that sees every VM's own counts (debugfs; BPF tells its own rows) gets no row by difference.</summary>
    [Fact]
    public void DebugfsGetsNoRowByDifference()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 500);
        fixture.AddDebugfsStat("12-5/exits", 100);
        var time = new ManualTime();
        var host = new KvmStat.Sources.Debugfs.DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new KvmStat.Sources.Debugfs.StatFileReader(), _ => { });
        var perVm = new KvmStat.Sources.Debugfs.DebugfsSource(fixture.Paths, FieldFilter.Default, 0, false, new KvmStat.Sources.Debugfs.StatFileReader(), _ => { });
        using Sampler sampler = Samplers.Of(time, [host], perVm, nameOf: pid => $"vm{pid}");
        sampler.Sample();
        fixture.AddDebugfsStat("exits", 900);
        time.Advance(TimeSpan.FromSeconds(1));
        sampler.Sample();
        Assert.Single(sampler.Snapshot.Guests!.Guests);
        Assert.DoesNotContain(sampler.Snapshot.Guests!.Others, o => o.Kind == VmRowKind.OutsideVms);
    }
}
