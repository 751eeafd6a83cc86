using KvmStat.Guests;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The BPF engine for one field selection: one set of programs and maps (<see cref="BpfCounters"/>)
/// that every source of the selection reads, so the host's fields and each VM's add up exactly.
/// It owns the counters: closing it detaches the programs, whatever its sources do.
/// </summary>
internal sealed class BpfEngine(BpfCounters counters, VmDiscovery discovery) : ITracepointEngine
{
    public string Name => "BPF";

    public ICapture Capture => counters;

    internal BpfCounters Counters => counters;

    public ExitLatencies? Latencies => counters.Latencies;

    public IStatsSource OpenHost(int pid, IFieldSelection? vcpus = null) => new BpfHostSource(counters, pid, vcpus);

    public IPerVmSource OpenPerVm()
    {
        if (!counters.Scope.PerProcess)
            throw new InvalidOperationException("per-VM values need programs that tell processes apart (BpfScope.EveryProcess)");
        return new BpfPerVmSource(counters, discovery);
    }

    public void Dispose() => counters.Dispose();
}
