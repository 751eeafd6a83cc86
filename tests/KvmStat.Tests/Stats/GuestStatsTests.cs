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
            stats.Sample(time.GetTimestamp());
            Assert.Equal(1000, stats.Guests.Count);
            Assert.Equal(round * 1000 + 1, stats.Guests[0].Pid);
            Assert.Equal($"vm{round * 1000 + 1}", stats.Guests[0].Name);
            vms.Vms.Clear();
            time.Advance(TimeSpan.FromSeconds(1));
            stats.Sample(time.GetTimestamp());
            Assert.Empty(stats.Guests);
            Assert.Equal(0, stats.RememberedRows);
        }
    }

    /// <summary>
    /// A VMM may name threads "CPU N/KVM" for any N, each a vCPU kept after its thread exits: the VMs
    /// keep so many gone vCPUs together, and what the threads beyond counted is said as lost; a VM
    /// that stops gives its gone vCPUs' room back. An exit's reason is no event of its own: only
    /// the tracepoint's events are lost.
    /// </summary>
    [Fact]
    public void GoneVcpusAreKeptWithinABudgetAndTheRestSaidAsLost()
    {
        var vms = new FakeVmSource(FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_userspace_exit"),
            FakeSource.Counter("kvm_userspace_exit(IO)", "kvm_userspace_exit"));
        vms.VcpuFieldIndexes.AddRange([0, 1, 2]);
        var time = new ManualTime();
        var warnings = new List<string>();
        var stats = new GuestStats(vms, pid => $"vm{pid}", time, goneVcpus: 2, warn: warnings.Add);
        vms.Set(10, "kvm_pio", 100);
        for (int index = 0; index < 5; index++)
            vms.SetVcpu(10, 1000 + index, index, 10 + index, 1, 1);
        stats.Sample(time.GetTimestamp());
        vms.Vcpus[10].Clear();
        stats.Sample(time.GetTimestamp());
        // Two vCPUs kept; the threads of vCPUs 2, 3 and 4 counted 12 + 13 + 14 port writes and an exit each.
        Assert.Equal([0, 1], stats.Guests[0].Vcpus.Select(v => v.Index));
        Assert.Equal(42, stats.VcpusLost);
        Assert.Equal(["42 kvm events of exited vCPU threads (42 new) are no vCPU's: the running VMs keep 2 vCPUs whose threads have all exited, " +
            "and more threads named as vCPUs exited; they are counted as lost (their VMs' counts have them; said again when their number doubles)."], warnings);

        vms.Vms.Clear();
        stats.Sample(time.GetTimestamp());
        vms.Set(20, "kvm_pio", 1);
        vms.SetVcpu(20, 2000, 7, 5, 0, 0);
        stats.Sample(time.GetTimestamp());
        vms.Vcpus[20].Clear();
        stats.Sample(time.GetTimestamp());
        Assert.Equal((7, 5L), (Assert.Single(stats.Guests[0].Vcpus).Index, stats.Guests[0].Vcpus[0].Totals[0]));
        Assert.Equal(42, stats.VcpusLost);
        Assert.Single(warnings);
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
        stats.Sample(time.GetTimestamp());
        time.Advance(TimeSpan.FromSeconds(1));
        stats.Sample(time.GetTimestamp());
        Assert.Equal(("alpha", 5L, 0L), (stats.Guests[0].Name, stats.Guests[0].Total, stats.Guests[0].Delta));
        (name, vms.Instances[42]) = ("beta", 2);
        vms.Set(42, "kvm_pio", 1);
        time.Advance(TimeSpan.FromSeconds(1));
        stats.Sample(time.GetTimestamp());
        GuestStat beta = Assert.Single(stats.Guests);
        Assert.Equal(("beta", 1L, 1L, 1L), (beta.Name, beta.Total, beta.Delta, beta.FieldDeltas[0]));
        // The same process again: the same guest.
        vms.Set(42, "kvm_pio", 3);
        time.Advance(TimeSpan.FromSeconds(1));
        stats.Sample(time.GetTimestamp());
        Assert.Same(beta, Assert.Single(stats.Guests));
        Assert.Equal((3L, 2L), (beta.Total, beta.Delta));
    }
}
