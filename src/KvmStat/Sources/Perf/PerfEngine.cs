using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// The perf engine: a counter per field on every CPU (the host), or on every thread of a VM (one
/// VM, or each VM). Each VM's counters are opened when the VM is first seen, for parent fields
/// only (exit reasons per thread would multiply the descriptors).
/// </summary>
/// <param name="warn">Where a VM whose counters cannot open (too few open files) is said.</param>
internal sealed class PerfEngine(Func<TracepointCounterSet> hostSet, Func<TracepointCounterSet> perVmSet, HostPaths paths, VmDiscovery discovery,
    Action<string> warn) : ITracepointEngine
{
    public string Name => "perf counters";

    public ICapture? Capture => null;

    public IStatsSource OpenHost(int pid, IFieldSelection? vcpus = null) => pid > 0
        ? TracepointSource.ForProcess(hostSet(), paths, pid)
        : TracepointSource.ForAllCpus(hostSet(), OnlineCpus.Read(paths));

    public IPerVmSource OpenPerVm() => new PerVmTracepointSource(perVmSet(), paths, discovery, warn);

    /// <summary>Nothing of its own: each source closes its counters (in the background).</summary>
    public void Dispose()
    {
    }
}
