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

    /// <summary>
    /// A new VM under a dead one's pid between two samples, where the source tells them apart (the
    /// BPF engine): its own name, its counts from zero, never the dead VM's or a negative delta.
    /// </summary>
    [Fact]
    public void ANewVmUnderADeadVmsPidIsANewGuest()
    {
        var vms = new FakeVmSource(FakeSource.Counter("kvm_pio"));
        var time = new ManualTime();
        string name = "alpha";
        var stats = new GuestStats(vms, _ => name, time);
        vms.Set(42, "kvm_pio", 5);
        vms.Instances[42] = 1;
        stats.Sample();
        time.Advance(TimeSpan.FromSeconds(1));
        stats.Sample();
        Assert.Equal(("alpha", 5L, 0L), (stats.Guests[0].Name, stats.Guests[0].Total, stats.Guests[0].Delta));
        (name, vms.Instances[42]) = ("beta", 2);
        vms.Set(42, "kvm_pio", 1);
        time.Advance(TimeSpan.FromSeconds(1));
        stats.Sample();
        GuestStat beta = Assert.Single(stats.Guests);
        Assert.Equal(("beta", 1L, 1L, 1L), (beta.Name, beta.Total, beta.Delta, beta.FieldDeltas[0]));
        // The same process again: the same guest.
        vms.Set(42, "kvm_pio", 3);
        time.Advance(TimeSpan.FromSeconds(1));
        stats.Sample();
        Assert.Same(beta, Assert.Single(stats.Guests));
        Assert.Equal((3L, 2L), (beta.Total, beta.Delta));
    }
}
