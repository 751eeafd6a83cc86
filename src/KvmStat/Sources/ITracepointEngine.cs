namespace KvmStat.Sources;

/// <summary>
/// How tracepoint fields are counted for a field selection: with BPF programs that aggregate in
/// the kernel per process (Bpf/BpfEngine), or with perf counters per CPU or per thread
/// (Perf/PerfEngine). Both give the host's fields (all VMs, or one with a pid) and each VM's. The
/// BPF engine owns its programs (disposing it detaches them, whatever its sources do); perf
/// counters belong to the source that opened them (one that fails to open closes what it opened).
/// </summary>
internal interface ITracepointEngine : IDisposable
{
    /// <summary>"BPF" or "perf counters", for messages.</summary>
    string Name { get; }

    /// <summary>
    /// The host's tracepoint fields: every VM (pid 0), or one VM process, with a child per vCPU of
    /// each field <paramref name="vcpus"/> keeps (--vcpus; only the BPF engine counts per vCPU, and
    /// a run that falls back to perf counters says so as it opens).
    /// </summary>
    IStatsSource OpenHost(int pid, IFieldSelection? vcpus = null);

    /// <summary>Each VM's tracepoint fields, and the events of exited VMs (and, where the engine can tell, of processes outside VMs).</summary>
    IPerVmSource OpenPerVm();

    /// <summary>The reading the engine's sources share, taken once per sample before they read; null when they read on their own.</summary>
    ICapture? Capture { get; }

    /// <summary>Exit latencies, when the engine measures them (BPF, asked for); else null.</summary>
    ExitLatencies? Latencies => null;
}
