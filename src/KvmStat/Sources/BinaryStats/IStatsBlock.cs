namespace KvmStat.Sources.BinaryStats;

/// <summary>The statistics of one VM or one vCPU at the last refresh: descriptors and their values.</summary>
internal interface IStatsBlock
{
    IReadOnlyList<KvmStatDescriptor> Descriptors { get; }

    /// <summary>-1 for the VM's own statistics, else the vCPU index.</summary>
    int VcpuIndex { get; }

    ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor);
}
