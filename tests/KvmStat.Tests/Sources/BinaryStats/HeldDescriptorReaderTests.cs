using KvmStat.Guests;
using KvmStat.Sources.BinaryStats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

public class HeldDescriptorReaderTests
{
    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNothingBehind()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        var time = new ManualTime();
        using var reader = new HeldDescriptorReader(fixture.Paths, 0, time, _ => { }, new VmDiscovery(fixture.Paths, time, _ => { }));
        var vms = new List<VmStatsBlocks>();
        for (int round = 0; round < 10; round++)
        {
            int[] pids = [.. Enumerable.Range(100_000 + round * 1000, 1000)];
            foreach (int pid in pids)
            {
                fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"]);
                fixture.MarkRunning(pid);
                fixture.AddDebugfsStat($"{pid}-12/exits", 0);
                fixture.AddDescriptor(pid, 12, "anon_inode:kvm-vm");
            }
            time.Advance(TimeSpan.FromSeconds(5));
            reader.Read(vms);
            // These VMs hold no statistics descriptors: followed, but with nothing to show.
            Assert.Empty(vms);
            Assert.Equal(1000, reader.TrackedVms);
            foreach (int pid in pids)
            {
                fixture.RemoveDebugfsVm($"{pid}-12");
                fixture.RemoveProcess(pid);
            }
            time.Advance(TimeSpan.FromSeconds(5));
            reader.Read(vms);
            Assert.Equal(0, reader.TrackedVms);
        }
    }
}
