using KvmStat.Exporter;

namespace KvmStat.Tests.Exporter;

public class SeriesContinuityTests
{
    private static long Sample(SeriesContinuity continuity, Func<SeriesContinuity, long> export)
    {
        continuity.BeginSample();
        long value = export(continuity);
        continuity.EndSample();
        return value;
    }

    /// <summary>A running VM's vCPU statistic that starts from zero again (the vCPU plugged anew) carries on; each series on its own.</summary>
    [Fact]
    public void ARunningVmsCounterThatStartsAgainCarriesOn()
    {
        var continuity = new SeriesContinuity();
        Assert.Equal(100, Sample(continuity, c => c.Monotonic(42, 1, "kvm_vcpu_", "exits", 1, 100)));
        Assert.Equal(130, Sample(continuity, c => c.Monotonic(42, 1, "kvm_vcpu_", "exits", 1, 30)));
        Assert.Equal(5, Sample(continuity, c => c.Monotonic(42, 1, "kvm_vcpu_", "exits", 0, 5)));
        Assert.Equal(140, Sample(continuity, c => c.Monotonic(42, 1, "kvm_vcpu_", "exits", 1, 40)));
    }

    /// <summary>Another process under the pid between two samples (another instance, even under the same name) inherits nothing.</summary>
    [Fact]
    public void ANewProcessUnderAVmsPidBetweenTwoSamplesStartsFromItsOwnCounts()
    {
        var continuity = new SeriesContinuity();
        Assert.Equal(100, Sample(continuity, c => c.Monotonic(42, 1, "kvm_vcpu_", "exits", 1, 100)));
        Assert.Equal(3, Sample(continuity, c => c.Monotonic(42, 2, "kvm_vcpu_", "exits", 1, 3)));
        Assert.Equal(1, continuity.TrackedVms);
    }

    /// <summary>A VM missing from a sample has ended: a VM back under its pid and name is another, and inherits nothing.</summary>
    [Fact]
    public void AVmBackUnderItsPidAndNameStartsFromItsOwnCounts()
    {
        var continuity = new SeriesContinuity();
        Sample(continuity, c => c.Monotonic(42, 1, "kvm_vm_", "exits", -1, 100));
        Sample(continuity, _ => 0);
        Assert.Equal(0, continuity.TrackedVms);
        Assert.Equal(30, Sample(continuity, c => c.Monotonic(42, 1, "kvm_vm_", "exits", -1, 30)));
    }

    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveOnlyTheRunningOnes()
    {
        var continuity = new SeriesContinuity();
        for (int round = 0; round < 10; round++)
        {
            Sample(continuity, c =>
            {
                for (int pid = round * 1000 + 1; pid <= (round + 1) * 1000; pid++)
                {
                    for (int vcpu = 0; vcpu < 4; vcpu++)
                        c.Monotonic(pid, pid, "kvm_vcpu_", "exits", vcpu, pid);
                }
                return 0;
            });
            Assert.Equal(1000, continuity.TrackedVms);
        }
        Sample(continuity, _ => 0);
        Assert.Equal(0, continuity.TrackedVms);
    }
}
