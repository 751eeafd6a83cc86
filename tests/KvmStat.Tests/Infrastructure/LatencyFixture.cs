using KvmStat.Sources;

namespace KvmStat.Tests.Infrastructure;

/// <summary>Exit latencies as the engine's capture leaves them, for outputs' tests.</summary>
internal static class LatencyFixture
{
    /// <summary>Three IO exits of 16-32 us and two MMIO exits of 128-256 us, for the host and for VM <paramref name="pid"/>.</summary>
    internal static ExitLatencies Io3Mmio2(int pid)
    {
        StatField parent = new("kvm_userspace_exit", null, StatKind.Counter, FieldOrigin.Tracepoint);
        var latencies = new ExitLatencies(new FieldSet([parent,
            new StatField("kvm_userspace_exit(IO)", parent.Name, StatKind.Counter, FieldOrigin.Tracepoint, Label: "IO"),
            new StatField("kvm_userspace_exit(MMIO)", parent.Name, StatKind.Counter, FieldOrigin.Tracepoint, Label: "MMIO")]), "ioctl(KVM_RUN)");
        foreach (Dictionary<int, LatencyHistogram> histograms in new[] { latencies.Host, latencies.Vms[pid] = [] })
        {
            histograms[1] = new LatencyHistogram { Nanoseconds = 60_000 };
            histograms[1].Buckets[14] = 3;
            histograms[2] = new LatencyHistogram { Nanoseconds = 400_000 };
            histograms[2].Buckets[17] = 2;
        }
        return latencies;
    }
}
