using KvmStat.Guests;
using KvmStat.Host;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The BPF engine for one field selection: one set of programs and maps (<see cref="BpfCounters"/>)
/// that every source of the selection reads, so the host's fields and each VM's add up exactly.
/// The counters close with the last source that uses them.
/// </summary>
internal sealed class BpfEngine(BpfCounters counters, HostPaths paths, TimeProvider time) : ITracepointEngine
{
    private bool _sourcesOpened;

    public string Name => "BPF";

    public ICapture Capture => counters;

    public IStatsSource OpenHost(int pid)
    {
        _sourcesOpened = true;
        return new BpfHostSource(counters, pid);
    }

    public IPerVmSource OpenPerVm()
    {
        if (!counters.Scope.PerProcess)
            throw new InvalidOperationException("per-VM values need programs that tell processes apart (BpfScope.EveryProcess)");
        _sourcesOpened = true;
        return new BpfPerVmSource(counters, new VmDiscovery(paths, time));
    }

    /// <summary>Closes the counters when no source took them; otherwise the last source closes them.</summary>
    public void Dispose()
    {
        if (!_sourcesOpened)
            counters.Dispose();
    }
}
