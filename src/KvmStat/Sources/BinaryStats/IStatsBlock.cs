namespace KvmStat.Sources.BinaryStats;

/// <summary>The statistics of one VM or one vCPU at the last refresh: descriptors and their values.</summary>
internal interface IStatsBlock
{
    IReadOnlyList<KvmStatDescriptor> Descriptors { get; }

    /// <summary>-1 for the VM's own statistics, else the vCPU index.</summary>
    int VcpuIndex { get; }

    ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor);
}

/// <summary>One VM's statistics blocks: its own and its vCPUs'.</summary>
internal sealed class VmStatsBlocks(int pid)
{
    internal int Pid { get; } = pid;

    internal List<IStatsBlock> Blocks { get; } = [];
}

/// <summary>
/// Where binary statistics come from: descriptors copied from the VMMs that hold them, or QEMU's
/// QMP query-stats. A read refreshes every block it can reach.
/// </summary>
internal interface IVmStatsReader : IDisposable
{
    /// <summary>Fills <paramref name="vms"/> with the VMs reached, sorted by pid (a VM's blocks keep their identity across reads).</summary>
    void Read(List<VmStatsBlocks> vms);
}
