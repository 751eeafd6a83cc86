using KvmStat.Guests;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Guests;

/// <summary>
/// Questions of which processes hold VMs share one listing of debugfs's VM folders inside a look
/// (a capture, a sample): thousands of new processes cost one listing, not one each.
/// </summary>
[Collection(BpfCollection.Name)]
public class GuestFinderLookTests
{
    [Fact]
    public void InsideALookOneListingAnswersEveryQuestion()
    {
        using var fixture = new FixtureRoot();
        foreach (int pid in new[] { 500, 501 })
        {
            fixture.AddProcess(pid, ["qemu", "-name", $"vm{pid}"]);
            fixture.MarkRunning(pid);
            fixture.AddDescriptor(pid, 10, "anon_inode:kvm-vm");
        }
        fixture.AddDebugfsStat("500-10/exits", 1);
        var finder = new GuestFinder(fixture.Paths);
        using (finder.OneLook())
        {
            Assert.True(finder.HoldsVm(500));
            // A VM made after the look began is not in its listing; a nested look shares it too.
            fixture.AddDebugfsStat("501-10/exits", 1);
            using (finder.OneLook())
                Assert.False(finder.HoldsVm(501));
            Assert.False(finder.HoldsVm(501));
            Assert.Equal("vm500", finder.NameOfVm(500));
            Assert.Equal(1, finder.FolderListings);
        }
        // Outside a look each question lists them anew: the VM made meanwhile is known.
        Assert.True(finder.HoldsVm(501));
        Assert.True(finder.HoldsVm(500));
        Assert.Equal(3, finder.FolderListings);
    }

    /// <summary>A capture that finds many new processes lists debugfs once (4,000 VMs each listing 4,000 folders took seconds).</summary>
    [Fact]
    public void ACaptureListsDebugfsOnceForAllItsNewProcesses()
    {
        using var engine = new SyntheticEngine();
        using EventProcess a = EventProcess.Start(), b = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(a.Pid, "a");
        engine.MakeVm(b.Pid, "b");
        engine.MakeOther(other.Pid);
        engine.Fixture.AddDebugfsStat($"{a.Pid}-10/exits", 1);
        engine.Fixture.AddDebugfsStat($"{b.Pid}-10/exits", 1);
        engine.Counters.Capture();
        long before = engine.Counters.Guests.FolderListings;
        byte[] pio = SyntheticEngine.Arguments(1, 0x3f8, 1, 1);
        foreach (EventProcess process in new[] { a, b, other })
            Assert.Equal(1, process.Run(engine.Program("kvm_pio"), pio, count: 3));
        engine.Counters.Capture();
        Assert.Equal(1, engine.Counters.Guests.FolderListings - before);
        Assert.Equal([a.Pid, b.Pid], engine.Counters.Vms.Keys.Order());
        Assert.Equal(3, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
    }
}
