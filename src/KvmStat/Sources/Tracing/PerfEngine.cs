using KvmStat.Host;

namespace KvmStat.Sources.Tracing;

/// <summary>
/// The perf engine: a counter per field on every CPU (the host), or on every thread of a VM (one
/// VM, or each VM). Each VM's counters are opened when the VM is first seen, for parent fields
/// only (exit reasons per thread would multiply the descriptors).
/// </summary>
internal sealed class PerfEngine(Func<TracepointCounterSet> hostSet, Func<TracepointCounterSet> perVmSet, HostPaths paths, TimeProvider time) : ITracepointEngine
{
    public string Name => "perf counters";

    public ICapture? Capture => null;

    public IStatsSource OpenHost(int pid) => pid > 0
        ? TracepointSource.ForProcess(hostSet(), paths, pid)
        : TracepointSource.ForAllCpus(hostSet(), OnlineCpus.Read(paths));

    public IPerVmSource OpenPerVm() => new PerVmTracepointSource(perVmSet(), paths, time);

    public void Dispose()
    {
    }
}
