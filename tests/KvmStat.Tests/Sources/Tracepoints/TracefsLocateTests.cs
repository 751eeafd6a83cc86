using KvmStat.Sources;
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

public class TracefsIdTests
{
    /// <summary>
    /// A tracepoint whose id cannot be read is a plain error naming the file: perf left its fields
    /// out (said only with --verbose), BPF attached by id -1 and the kernel's EINVAL hid the cause.
    /// </summary>
    [Theory]
    [InlineData(null, "No such file or directory")]
    [InlineData("kvm\n", "not a number")]
    public void AnIdThatCannotBeReadIsSaidWithItsFile(string? text, string cause)
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_pio", 1);
        string id = fixture.Paths.Map("/sys/kernel/tracing/events/kvm/kvm_mmio/id");
        Directory.CreateDirectory(Path.GetDirectoryName(id)!);
        if (text is not null)
            File.WriteAllText(id, text);
        Tracefs tracefs = Tracefs.Locate(fixture.Paths);
        Assert.Equal(1, tracefs.ReadId("kvm_pio"));
        EnvironmentException e = Assert.Throws<EnvironmentException>(() => tracefs.ReadId("kvm_mmio"));
        Assert.Equal($"cannot read the id of tracepoint kvm:kvm_mmio ({id}): {cause}", e.Message);
        Assert.Contains("kvm module", e.Fix);
        var fields = new List<TracepointField> { new("kvm_pio", "kvm_pio", null, null), new("kvm_mmio", "kvm_mmio", null, null) };
        using var counters = new CounterDescriptors();
        Assert.Throws<EnvironmentException>(() => new TracepointCounterSet(tracefs, fields, counters, verbose: null));
    }
}
