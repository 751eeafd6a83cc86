using KvmStat.Exporter;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

public class SeriesContinuityTests
{
    private readonly ManualTime _time = new();

    private long Sample(SeriesContinuity continuity, Func<SeriesContinuity, long> export)
    {
        continuity.BeginSample();
        long value = export(continuity);
        continuity.EndSample();
        _time.Advance(TimeSpan.FromSeconds(1));
        return value;
    }

    [Fact]
    public void AVmBackUnderItsPidAndNameCarriesOnAndADifferentNameStartsANewSeries()
    {
        var continuity = new SeriesContinuity(_time);
        Assert.Equal(100, Sample(continuity, c => c.Monotonic(42, "web", "kvm_guest_events", "kvm_pio", -1, 100)));
        Sample(continuity, _ => 0);
        Assert.Equal(130, Sample(continuity, c => c.Monotonic(42, "web", "kvm_guest_events", "kvm_pio", -1, 30)));
        // Per vCPU and per family, each series on its own.
        Assert.Equal(5, Sample(continuity, c => c.Monotonic(42, "web", "kvm_vcpu_", "exits", 1, 5)));
        Assert.Equal(140, Sample(continuity, c => c.Monotonic(42, "web", "kvm_guest_events", "kvm_pio", -1, 40)));
        // Another guest under the same pid has other labels: its series is new.
        Assert.Equal(3, Sample(continuity, c => c.Monotonic(42, "db", "kvm_guest_events", "kvm_pio", -1, 3)));
    }

    [Fact]
    public void AGoneVmIsForgottenAfterTheKeepTime()
    {
        var continuity = new SeriesContinuity(_time);
        Sample(continuity, c => c.Monotonic(42, "web", "kvm_guest_events", "kvm_pio", -1, 100));
        Sample(continuity, _ => 0);
        Assert.Equal(1, continuity.TrackedVms);
        _time.Advance(SeriesContinuity.Keep);
        Sample(continuity, _ => 0);
        Assert.Equal(0, continuity.TrackedVms);
        // Back after that: every scraper has seen the series end, so it starts anew.
        Assert.Equal(30, Sample(continuity, c => c.Monotonic(42, "web", "kvm_guest_events", "kvm_pio", -1, 30)));
    }

    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveAtMostTheNewestGoneOnesAndThenNothing()
    {
        var continuity = new SeriesContinuity(_time);
        for (int round = 0; round < 10; round++)
        {
            Sample(continuity, c =>
            {
                for (int pid = round * 1000 + 1; pid <= (round + 1) * 1000; pid++)
                {
                    for (int vcpu = 0; vcpu < 4; vcpu++)
                        c.Monotonic(pid, "vm", "kvm_vcpu_", "exits", vcpu, pid);
                }
                return 0;
            });
            Assert.Equal(1000 + (round == 0 ? 0 : SeriesContinuity.MaxGone), continuity.TrackedVms);
            Sample(continuity, _ => 0);
            Assert.Equal(SeriesContinuity.MaxGone, continuity.TrackedVms);
        }
        // The newest gone VMs are the ones kept.
        Assert.Equal(10_000 + 1000, Sample(continuity, c => c.Monotonic(10_000, "vm", "kvm_vcpu_", "exits", 0, 1000)));
        _time.Advance(SeriesContinuity.Keep);
        Sample(continuity, _ => 0);
        Assert.Equal(0, continuity.TrackedVms);
    }
}
