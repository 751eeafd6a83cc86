using System.Globalization;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Perf;

/// <summary>Per-VM perf counters on a host beyond its open-file limit: the VMs that cannot be counted are left out and said, never the whole read.</summary>
public class PerVmRefusalTests
{
    [Fact]
    public void VmsWhoseCountersCannotOpenAreLeftOutAndSaidAndTheReadGoesOn()
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_pio", int.Parse(File.ReadAllText("/sys/kernel/tracing/events/kvm/kvm_pio/id").Trim(), CultureInfo.InvariantCulture));
        using var descriptors = new CounterDescriptors();
        // More counters for one thread than the open-file hard limit allows: no VM's can open.
        Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit limit);
        int fields = (int)Math.Min(limit.Maximum + 1, 1 << 20);
        var set = new TracepointCounterSet(Tracefs.Locate(fixture.Paths),
            [.. Enumerable.Range(0, fields).Select(_ => new TracepointField("kvm_pio", "kvm_pio", null, null))], descriptors, verbose: null);
        var warnings = new List<string>();
        var time = new ManualTime();
        using var source = new PerVmTracepointSource(set, fixture.Paths, new VmDiscovery(fixture.Paths, time, _ => { }), warnings.Add);
        int thread = KvmStat.Tests.TestGuest.KvmInterop.GetTid();
        foreach (int pid in new[] { 100_001, 100_002, 100_003 })
        {
            fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"], threads: [thread]);
            fixture.MarkRunning(pid);
            fixture.AddDescriptor(pid, 10, "anon_inode:kvm-vm");
        }
        var readings = new List<VmReading>();
        source.Read(readings);
        Assert.DoesNotContain(readings, r => r.Kind == VmRowKind.Vm);
        Assert.Equal(3, source.RefusedVms);
        Assert.Equal(3, source.VmsLeftOut);
        Assert.Equal([100_001, 100_002, 100_003], source.LeftOut);
        Assert.Equal(0, source.TrackedVms);
        Assert.Equal(0, descriptors.OpenCount);
        // Said once for the read that left them out, not for every VM or each doubling within it;
        // the soft limit is the hard one already, so the fix is the hard limit.
        string warning = Assert.Single(warnings);
        Assert.StartsWith("3 VMs are left out of the per-VM counts (their events are in the host's totals, and outside VMs): ", warning);
        Assert.Contains("open files", warning);
        Assert.Contains("ulimit -Hn", warning);
        // Not tried again while they run; a VM that exits and comes back is.
        source.Read(readings);
        Assert.Equal(3, source.RefusedVms);
        fixture.RemoveProcess(100_003);
        time.Advance(TimeSpan.FromSeconds(10));
        source.Read(readings);
        Assert.Equal(2, source.VmsLeftOut);
        fixture.AddProcess(100_003, ["qemu-system-x86_64"], threads: [thread]);
        fixture.MarkRunning(100_003);
        fixture.AddDescriptor(100_003, 10, "anon_inode:kvm-vm");
        time.Advance(TimeSpan.FromSeconds(10));
        source.Read(readings);
        Assert.Equal(4, source.RefusedVms);
        // Said again only when their number doubles.
        Assert.Single(warnings);
    }
}
