using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Tracepoints;

public class TracefsLocateTests
{
    [Fact]
    public void PrefersSysKernelTracing()
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_pio", 1);
        fixture.WriteFile("/sys/kernel/debug/tracing/events/kvm/kvm_mmio/id", "2\n");
        Assert.EndsWith("/sys/kernel/tracing", Tracefs.Locate(fixture.Paths).Root);
    }

    [Fact]
    public void FallsBackToTracingUnderDebugfs()
    {
        using var fixture = new FixtureRoot();
        fixture.WriteFile("/sys/kernel/debug/tracing/events/kvm/kvm_mmio/id", "2\n");
        Directory.CreateDirectory(fixture.Paths.Map("/sys/kernel/tracing"));
        Tracefs tracefs = Tracefs.Locate(fixture.Paths);
        Assert.EndsWith("/sys/kernel/debug/tracing", tracefs.Root);
        Assert.Equal(["kvm_mmio"], tracefs.ListKvmEvents());
    }

    [Fact]
    public void AnUnmountedTracefsSaysHowToMountIt()
    {
        using var fixture = new FixtureRoot();
        Directory.CreateDirectory(fixture.Paths.Map("/sys/kernel/tracing"));
        EnvironmentException e = Assert.Throws<EnvironmentException>(() => Tracefs.Locate(fixture.Paths));
        Assert.Contains("not mounted", e.Message);
        Assert.Contains("mount -t tracefs nodev /sys/kernel/tracing", e.Fix);
    }

    [Fact]
    public void MountedTracefsWithoutKvmEventsMeansKvmIsNotLoaded()
    {
        using var fixture = new FixtureRoot();
        fixture.WriteFile("/sys/kernel/tracing/events/sched/sched_switch/id", "5\n");
        fixture.RemoveKvm();
        EnvironmentException e = Assert.Throws<EnvironmentException>(() => Tracefs.Locate(fixture.Paths));
        Assert.Contains("KVM is not loaded", e.Message);
        Assert.Contains("modprobe", e.Fix);
    }
}
