using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Stats;

public class GuestStatsTests
{
    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoRows()
    {
        var vms = new FakeVmSource(FakeSource.Counter("kvm_pio"));
        var time = new ManualTime();
        var stats = new GuestStats(vms, pid => $"vm{pid}", time);
        for (int round = 0; round < 10; round++)
        {
            for (int pid = round * 1000 + 1; pid <= (round + 1) * 1000; pid++)
                vms.Set(pid, "kvm_pio", pid);
            time.Advance(TimeSpan.FromSeconds(1));
            stats.Sample();
            Assert.Equal(1000, stats.Guests.Count);
            Assert.Equal(round * 1000 + 1, stats.Guests[0].Pid);
            Assert.Equal($"vm{round * 1000 + 1}", stats.Guests[0].Name);
            vms.Vms.Clear();
            time.Advance(TimeSpan.FromSeconds(1));
            stats.Sample();
            Assert.Empty(stats.Guests);
            Assert.Equal(0, stats.RememberedRows);
        }
    }
}
