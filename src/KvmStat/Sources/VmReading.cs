namespace KvmStat.Sources;

/// <summary>One VM's values in a per-VM read: cumulative counters since it was first seen.</summary>
internal sealed class VmReading(int pid, int fieldCount, VmRowKind kind = VmRowKind.Vm)
{
    /// <summary>The VM's process (0 for the rows that are no VM).</summary>
    internal int Pid { get; } = pid;

    internal VmRowKind Kind { get; } = kind;

    /// <summary>
    /// Which process under its pid, where the source can tell a new process under a dead one's pid
    /// (the BPF engine: each of its slots' processes); 0 where it cannot.
    /// </summary>
    internal long Instance { get; set; }

    internal long[] Values { get; } = new long[fieldCount];

    /// <summary>Its vCPU threads (--vcpus), by vCPU; empty where not counted.</summary>
    internal List<VcpuReading> Vcpus { get; } = [];
}
