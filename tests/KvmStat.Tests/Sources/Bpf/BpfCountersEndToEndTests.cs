using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracing;
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
        return new BpfCounters(tracefs, fields, s_host, descriptors, verbose: null);
    }

    private static long Field(BpfCounters counters, long[] totals, string name) =>
        totals[counters.Fields.ToList().FindIndex(f => f.Name == name)];

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
        BpfCounters.Process process = counters.Processes[guest.Pid];
        Assert.True(process.IsVm);
        foreach ((string field, long expected) in guest.ExpectedPerRun())
            Assert.True(expected == Field(counters, process.Totals, field), $"{field}: expected {expected}, counted {Field(counters, process.Totals, field)}");
        Assert.Equal(0, Field(counters, process.Totals, "kvm_userspace_exit(OTHER)"));
        // The host's totals are every process's, the outside's and the unplaced ones.
        long[] sum = new long[counters.Fields.Count];
        foreach (BpfCounters.Process p in counters.Processes.Values.Where(p => p.IsVm))
            for (int i = 0; i < sum.Length; i++)
                sum[i] += p.Totals[i];
        for (int i = 0; i < sum.Length; i++)
            Assert.Equal(counters.Totals[i], sum[i] + counters.OutsideVms[i] + counters.ExitedVms[i]);
    }
}
