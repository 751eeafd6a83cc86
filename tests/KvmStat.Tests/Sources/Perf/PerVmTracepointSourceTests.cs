using KvmStat.Guests;
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
    /// <summary>A fixture whose VMs' threads are counted on kvm_pio (the real tracepoint's id).</summary>
    private sealed class PioVms : IDisposable
    {
        internal PioVms()
        {
            Fixture.AddTracepoint("kvm_pio", int.Parse(File.ReadAllText("/sys/kernel/tracing/events/kvm/kvm_pio/id").Trim(), CultureInfo.InvariantCulture));
            var set = new TracepointCounterSet(Tracefs.Locate(Fixture.Paths), [new TracepointField("kvm_pio", "kvm_pio", null, null)], Descriptors, verbose: null);
            Source = new PerVmTracepointSource(set, Fixture.Paths, new VmDiscovery(Fixture.Paths, Time, _ => { }), _ => { });
        }

        internal FixtureRoot Fixture { get; } = new();

        internal ManualTime Time { get; } = new();

        internal CounterDescriptors Descriptors { get; } = new();

        internal PerVmTracepointSource Source { get; }

        public void Dispose()
        {
            Source.Dispose();
            Descriptors.Dispose();
            Fixture.Dispose();
        }
    }

    [Fact]
    public void TenThousandVmsThatComeAndGoLeaveNoCountersOrDescriptorsBehind()
    {
        Kvm.RequireTracepoints();
        using var vms = new PioVms();
        (FixtureRoot fixture, CounterDescriptors descriptors, PerVmTracepointSource source) = (vms.Fixture, vms.Descriptors, vms.Source);
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
                fixture.AddDescriptor(pid, 12, "anon_inode:kvm-vm");
            }
            source.Read(readings);
            Assert.Equal(pids, readings.Where(r => r.Kind == VmRowKind.Vm).Select(r => r.Pid));
            Assert.Equal(1000, source.TrackedVms);
            Assert.Equal(1000, descriptors.OpenCount);
            Assert.Equal(1000, FoldersHeld(fixture));
            foreach (int pid in pids)
            {
                fixture.RemoveDebugfsVm($"{pid}-12");
                fixture.RemoveProcess(pid);
            }
            source.Read(readings);
            Assert.DoesNotContain(readings, r => r.Kind == VmRowKind.Vm);
            Assert.Equal(0, source.TrackedVms);
            // Their descriptors are closed in the background (a close can wait for the kernel).
            Poll.Until(() => descriptors.OpenCount == 0, TimeSpan.FromSeconds(60), "the background close of the gone VMs' counters");
            Assert.Equal(0, FoldersHeld(fixture));
        }
    }

    /// <summary>This process's descriptors of the fixture's /proc folders (each counted VM holds one).</summary>
    private static int FoldersHeld(FixtureRoot fixture)
    {
        string proc = fixture.Paths.Map("/proc") + "/";
        int held = 0;
        foreach (string fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (File.ResolveLinkTarget(fd, returnFinalTarget: false)?.FullName.StartsWith(proc, StringComparison.Ordinal) == true)
                    held++;
            }
            catch (IOException)
            {
                // A descriptor closed meanwhile (another test's): not one of these.
            }
        }
        return held;
    }

    /// <summary>
    /// A follow between reads (the exporter's every second) opens a new VM's threads' counters: its
    /// vCPUs count from then, not from the next scrape; and closes those of a VM that stopped.
    /// </summary>
    [Fact]
    public void AFollowOpensANewVmsThreadsCounters()
    {
        Kvm.RequireTracepoints();
        using var vms = new PioVms();
        var readings = new List<VmReading>();
        vms.Source.Read(readings);
        Assert.Equal(0, vms.Descriptors.OpenCount);
        const int Pid = 100_001;
        vms.Fixture.AddProcess(Pid, ["qemu-system-x86_64", "-name", "alpha"], threads: [KvmStat.Tests.TestGuest.KvmInterop.GetTid()]);
        vms.Fixture.MarkRunning(Pid);
        vms.Fixture.AddDebugfsStat($"{Pid}-12/exits", 0);
        vms.Fixture.AddDescriptor(Pid, 12, "anon_inode:kvm-vm");
        // VmDiscovery lists VMs again after 3 s.
        vms.Time.Advance(TimeSpan.FromSeconds(4));
        vms.Source.Follow();
        Assert.Equal(1, vms.Descriptors.OpenCount);
        vms.Fixture.RemoveDebugfsVm($"{Pid}-12");
        vms.Fixture.RemoveProcess(Pid);
        vms.Time.Advance(TimeSpan.FromSeconds(4));
        vms.Source.Follow();
        Assert.Equal(0, vms.Source.TrackedVms);
        Poll.Until(() => vms.Descriptors.OpenCount == 0, TimeSpan.FromSeconds(60), "the background close of the gone VM's counters");
    }

    /// <summary>
    /// Between reads a follow lists the threads of young VMs only (a VMM makes its vCPU threads in its
    /// first seconds); a read lists every VM's: an older VM's new thread counts from the next read.
    /// </summary>
    [Fact]
    public void AnOlderVmsNewThreadIsOpenedAtTheNextRead()
    {
        Kvm.RequireTracepoints();
        using var vms = new PioVms();
        const int Pid = 100_001;
        vms.Fixture.AddProcess(Pid, ["qemu-system-x86_64", "-name", "alpha"], threads: [KvmStat.Tests.TestGuest.KvmInterop.GetTid()]);
        vms.Fixture.MarkRunning(Pid);
        vms.Fixture.AddDebugfsStat($"{Pid}-12/exits", 0);
        vms.Fixture.AddDescriptor(Pid, 12, "anon_inode:kvm-vm");
        for (int i = 0; i < PerVmTracepointSource.YoungFollows; i++)
            vms.Source.Follow();
        Assert.Equal(1, vms.Descriptors.OpenCount);

        int tid = 0;
        using var ready = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            tid = KvmStat.Tests.TestGuest.KvmInterop.GetTid();
            ready.Set();
            done.Wait();
        });
        thread.Start();
        try
        {
            ready.Wait(TestContext.Current.CancellationToken);
            vms.Fixture.AddThread(Pid, tid, "worker");
            vms.Source.Follow();
            Assert.Equal(1, vms.Descriptors.OpenCount);
            vms.Source.Read([]);
            Assert.Equal(2, vms.Descriptors.OpenCount);
        }
        finally
        {
            done.Set();
            thread.Join();
        }
    }

    /// <summary>
    /// A VM that exits while its pid stays listed, and a new VM under that pid: the new one is counted
    /// anew (another instance, from zero), never through the dead one's counters.
    /// </summary>
    [Fact]
    public void ANewVmUnderADeadVmsPidIsCountedAnew()
    {
        Kvm.RequireTracepoints();
        using var vms = new PioVms();
        (FixtureRoot fixture, PerVmTracepointSource source) = (vms.Fixture, vms.Source);
        int thread = KvmStat.Tests.TestGuest.KvmInterop.GetTid();
        const int Pid = 100_001;
        fixture.AddProcess(Pid, ["qemu-system-x86_64", "-name", "alpha"], threads: [thread]);
        fixture.MarkRunning(Pid);
        fixture.AddDebugfsStat($"{Pid}-12/exits", 0);
        fixture.AddDescriptor(Pid, 12, "anon_inode:kvm-vm");
        var readings = new List<VmReading>();
        source.Read(readings);
        long alpha = Assert.Single(readings, r => r.Kind == VmRowKind.Vm).Instance;
        Assert.NotEqual(0, alpha);

        fixture.RemoveProcess(Pid);
        fixture.AddProcess(Pid, ["qemu-system-x86_64", "-name", "beta"], threads: [thread]);
        fixture.AddDescriptor(Pid, 12, "anon_inode:kvm-vm");
        fixture.MarkRunning(Pid);
        // The read that finds alpha gone shows neither; the next counts beta.
        source.Read(readings);
        Assert.DoesNotContain(readings, r => r.Kind == VmRowKind.Vm);
        source.Read(readings);
        long beta = Assert.Single(readings, r => r.Kind == VmRowKind.Vm).Instance;
        Assert.NotEqual(alpha, beta);
        Assert.Equal(1, source.TrackedVms);
        source.Read(readings);
        Assert.Equal(beta, Assert.Single(readings, r => r.Kind == VmRowKind.Vm).Instance);
    }

    /// <summary>A read of VMs already counted (and a follow between reads) allocates nothing: the refresh loop and the exporter's second.</summary>
    [Fact]
    public void AReadInSteadyStateAllocatesNothing()
    {
        Kvm.RequireTracepoints();
        using var vms = new PioVms();
        int thread = KvmStat.Tests.TestGuest.KvmInterop.GetTid();
        foreach (int pid in new[] { 100_001, 100_002 })
        {
            vms.Fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"], threads: [thread]);
            vms.Fixture.MarkRunning(pid);
            vms.Fixture.AddDebugfsStat($"{pid}-12/exits", 0);
            vms.Fixture.AddDescriptor(pid, 12, "anon_inode:kvm-vm");
        }
        var readings = new List<VmReading>();
        Assert.Equal(0, Allocations.InSteadyState(() =>
        {
            vms.Source.Follow();
            vms.Source.Read(readings);
        }));
        Assert.Equal(2, readings.Count(r => r.Kind == VmRowKind.Vm));
    }
}
