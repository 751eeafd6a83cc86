using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>The BPF engine in-process against real guests: the kernel's verifier, the tracepoints, the counts.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class BpfCountersEndToEndTests
{
    private static readonly HostPaths s_host = new();

    private static BpfCounters Open(CounterDescriptors descriptors, string pattern)
    {
        Tracefs tracefs = Tracefs.Locate(s_host);
        IReadOnlyList<TracepointField> catalog = TracepointCatalog.Discover(tracefs, ExitReasonSetDetector.Detect(s_host));
        List<TracepointField> fields = KvmStat.Stats.FieldFilter.Create(pattern).Select(catalog, f => f.Name, f => f.Parent);
        return new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null, warn: _ => { });
    }

    private static long Field(BpfCounters counters, long[] totals, string name) =>
        totals[counters.Fields.ToList().FindIndex(f => f.Name == name)];

    /// <summary>When every slot is taken, the events of processes without one are counted apart and reported.</summary>
    [Fact]
    public void AFullTableCountsTheEventsItCannotPlaceAndSaysSo()
    {
        Kvm.Require();
        using var descriptors = new CounterDescriptors();
        var warnings = new List<string>();
        Tracefs tracefs = Tracefs.Locate(s_host);
        List<TracepointField> fields = KvmStat.Stats.FieldFilter.Create("kvm_(pio|mmio)$").Select(
            TracepointCatalog.Discover(tracefs, ExitReasonSet.Unknown), f => f.Name, f => f.Parent);
        using var counters = new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null, warnings.Add, capacity: 1);
        using var first = GuestVm.Start($"full1-{Environment.ProcessId}", vcpus: 1, outs: 40, mmio: 3);
        using var second = GuestVm.Start($"full2-{Environment.ProcessId}", vcpus: 1, outs: 70, mmio: 5);
        first.Run();
        second.Run();
        counters.Capture();
        // At most one process has the slot; what every guest without one made is in the unplaced counts, exactly.
        GuestVm[] unplaced = [.. new[] { first, second }.Where(g => !counters.Vms.ContainsKey(g.Pid))];
        Assert.NotEmpty(unplaced);
        Assert.Equal(unplaced.Sum(g => (long)g.Outs), Field(counters, counters.Unattributed, "kvm_pio"));
        Assert.Equal(unplaced.Sum(g => (long)g.MmioWrites), Field(counters, counters.Unattributed, "kvm_mmio"));
        Assert.Equal(110, Field(counters, counters.Totals, "kvm_pio"));
        Assert.Contains(warnings, w => w.Contains("could not be attributed to a process") && w.Contains("room for 1 processes"));
    }

    [Fact]
    public void EveryExitOfAGuestIsCountedForItsProcessWithItsReason()
    {
        Kvm.Require();
        using var descriptors = new CounterDescriptors();
        using BpfCounters counters = Open(descriptors, "kvm_(pio|mmio|userspace_exit)");
        counters.Capture();
        using var guest = GuestVm.Start($"bpf-{Environment.ProcessId}", vcpus: 2, outs: 300, mmio: 7);
        guest.Run();
        counters.Capture();
        BpfProcess process = counters.Vms[guest.Pid];
        Assert.True(process.IsVm);
        foreach ((string field, long expected) in guest.ExpectedPerRun())
            Assert.True(expected == Field(counters, process.Totals, field), $"{field}: expected {expected}, counted {Field(counters, process.Totals, field)}");
        Assert.Equal(0, Field(counters, process.Totals, "kvm_userspace_exit(OTHER)"));
        // The host's totals are every process's, the outside's and the unplaced ones.
        long[] sum = new long[counters.Fields.Count];
        foreach (BpfProcess p in counters.Vms.Values)
            for (int i = 0; i < sum.Length; i++)
                sum[i] += p.Totals[i];
        for (int i = 0; i < sum.Length; i++)
            Assert.Equal(counters.Totals[i], sum[i] + counters.OutsideVms[i] + counters.ExitedVms[i] + counters.Unattributed[i]);
    }

    /// <summary>
    /// A program on a tracepoint decides whether the kernel passes each event on to the tracepoint's
    /// perf events: the engine's programs must pass them all, or `perf stat`, the reference
    /// kvm_stat and any perf-engine run beside this one would count nothing of that tracepoint.
    /// The programs are attached through perf events of the thread that opens them: they keep
    /// counting every process after that thread has ended.
    /// </summary>
    [Fact]
    public void PerfCountersBesideTheProgramsStillSeeEveryEvent()
    {
        Kvm.Require();
        using var descriptors = new CounterDescriptors();
        BpfCounters? opened = null;
        var opener = new Thread(() => opened = Open(descriptors, "kvm_userspace_exit"));
        opener.Start();
        opener.Join();
        using BpfCounters counters = opened!;
        Assert.Contains(counters.Fields, f => f.IsChild);
        var set = new TracepointCounterSet(Tracefs.Locate(s_host), [new TracepointField("kvm_userspace_exit", "kvm_userspace_exit", null, null)], descriptors, verbose: null);
        IStatsSource perf = TracepointSource.ForAllCpus(set, OnlineCpus.Read(s_host));
        long[] before = new long[1], after = new long[1];
        perf.Read(before);
        using var guest = GuestVm.Start($"beside-{Environment.ProcessId}", vcpus: 2, outs: 40, mmio: 3);
        guest.Run();
        perf.Read(after);
        counters.Capture();
        long expected = guest.ExpectedPerRun()["kvm_userspace_exit"];
        Assert.Equal(expected, after[0] - before[0]);
        Assert.Equal(expected, Field(counters, counters.Vms[guest.Pid].Totals, "kvm_userspace_exit"));
    }

    /// <summary>
    /// 10,000 VM processes through a table of 128 slots, 50 between two captures (a slot given back
    /// is read once more at the next capture before it is free again: two rounds hold at most 100):
    /// every one counted, as a VM that exited, none left unplaced, and once they are gone, nothing of
    /// them left in the kernel's tables or here.
    /// </summary>
    [Fact]
    public void TenThousandVmProcessesThatComeAndGoLeaveNoEntriesBehind()
    {
        Kvm.Require();
        using var descriptors = new CounterDescriptors();
        Tracefs tracefs = Tracefs.Locate(s_host);
        List<TracepointField> fields = KvmStat.Stats.FieldFilter.Create("kvm_pio$").Select(
            TracepointCatalog.Discover(tracefs, ExitReasonSet.Unknown), f => f.Name, f => f.Parent);
        var warnings = new List<string>();
        using var counters = new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null, warnings.Add, capacity: 128);
        counters.Capture();
        long before = counters.Totals[0];
        for (int round = 0; round < 200; round++)
        {
            ChurnGuest.Run(count: 50, vcpus: 2, outs: 3);
            counters.Capture();
            Assert.True(counters.SlotsInUse <= 50, $"round {round}: {counters.SlotsInUse} slots in use");
        }
        counters.Capture();
        counters.Capture();
        Assert.Equal(10_000 * 2 * 3, counters.Totals[0] - before);
        // Each VM process was gone before a capture saw it: what it ran on its vCPUs tells it was a VM.
        Assert.Equal(10_000 * 2 * 3, counters.ExitedVms[0]);
        Assert.Equal(0, counters.OutsideVms[0]);
        Assert.Equal(0, counters.Unattributed[0]);
        Assert.Empty(warnings);
        Assert.Equal(0, counters.SlotsInUse);
        Assert.Empty(counters.Vms);
    }

    /// <summary>The lighter programs count exactly too: every event in one row, or only the one process's.</summary>
    [Fact]
    public void HostAndOneProcessScopesCountExactly()
    {
        Kvm.Require();
        Tracefs tracefs = Tracefs.Locate(s_host);
        List<TracepointField> fields = KvmStat.Stats.FieldFilter.Create("kvm_(pio|userspace_exit)").Select(
            TracepointCatalog.Discover(tracefs, ExitReasonSet.Unknown), f => f.Name, f => f.Parent);
        using var watched = GuestVm.Start($"scope1-{Environment.ProcessId}", vcpus: 2, outs: 40, mmio: 0);
        using var other = GuestVm.Start($"scope2-{Environment.ProcessId}", vcpus: 1, outs: 25, mmio: 0);
        using var descriptors = new CounterDescriptors();
        using var host = new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null, warn: _ => { }, scope: BpfScope.Host);
        using var one = new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null, warn: _ => { }, scope: BpfScope.OneProcess(watched.Pid));
        watched.Run();
        other.Run();
        host.Capture();
        one.Capture();
        Assert.Equal(105, Field(host, host.Totals, "kvm_pio"));
        Assert.Equal(80, Field(one, one.Totals, "kvm_pio"));
        Assert.Equal(82, Field(one, one.Totals, "kvm_userspace_exit"));
        Assert.Equal(2, Field(one, one.Totals, "kvm_userspace_exit(HLT)"));
        Assert.Empty(host.Vms);
        Assert.Equal(0, host.Capacity);
    }
}
