namespace KvmStat.Sources;

/// <summary>One VM's values in a per-VM read: cumulative counters since it was first seen.</summary>
internal sealed class VmReading(int pid, int fieldCount, VmRowKind kind = VmRowKind.Vm)
{
    /// <summary>The VM's process (0 for the rows that are no VM).</summary>
    internal int Pid { get; } = pid;

    internal VmRowKind Kind { get; } = kind;

    /// <summary>
    /// Which process under its pid: a new process under a dead VM's pid is another instance (the
    /// BPF engine's slot processes, the perf engine's counted processes, binary statistics' blocks,
    /// a pid's debugfs folders made anew), so that it never inherits the dead VM's counts or name.
    /// </summary>
    internal long Instance { get; set; }

    internal long[] Values { get; } = new long[fieldCount];

    /// <summary>Its vCPU threads (--vcpus), by vCPU; empty where not counted.</summary>
    internal List<VcpuReading> Vcpus { get; } = [];
}
