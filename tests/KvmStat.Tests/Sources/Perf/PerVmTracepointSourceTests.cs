using KvmStat.Guests;
using System.Diagnostics;
using System.Globalization;
using KvmStat.Sources;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Perf;

/// <summary>Per-VM perf counters over a fixture /proc and debugfs whose VM threads are this test's own thread.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class PerVmTracepointSourceTests
{
    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoCountersOrDescriptorsBehind()
    {
        Kvm.RequireTracepoints();
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_pio", int.Parse(File.ReadAllText("/sys/kernel/tracing/events/kvm/kvm_pio/id").Trim(), CultureInfo.InvariantCulture));
        using var descriptors = new CounterDescriptors();
        var set = new TracepointCounterSet(Tracefs.Locate(fixture.Paths), [new TracepointField("kvm_pio", "kvm_pio", null, null)], descriptors, verbose: null);
        using var source = new PerVmTracepointSource(set, fixture.Paths, new VmDiscovery(fixture.Paths, new ManualTime(), _ => { }), _ => { });
        int thread = KvmStat.Tests.TestGuest.KvmInterop.GetTid();
        var readings = new List<VmReading>();
        for (int round = 0; round < 10; round++)
        {
            int[] pids = [.. Enumerable.Range(100_000 + round * 1000, 1000)];
            foreach (int pid in pids)
            {
                fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"], threads: [thread]);
                fixture.MarkRunning(pid);
                fixture.AddDebugfsStat($"{pid}-12/exits", 0);
            }
            source.Read(readings);
            Assert.Equal(pids, readings.Select(r => r.Pid));
            Assert.Equal(1000, source.TrackedVms);
            Assert.Equal(1000, descriptors.OpenCount);
            foreach (int pid in pids)
            {
                fixture.RemoveDebugfsVm($"{pid}-12");
                fixture.RemoveProcess(pid);
            }
            source.Read(readings);
            Assert.Empty(readings);
            Assert.Equal(0, source.TrackedVms);
            // Their descriptors are closed in the background (a close can wait for the kernel).
            var clock = Stopwatch.StartNew();
            while (descriptors.OpenCount > 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
                Thread.Sleep(10);
            Assert.Equal(0, descriptors.OpenCount);
        }
    }
}
