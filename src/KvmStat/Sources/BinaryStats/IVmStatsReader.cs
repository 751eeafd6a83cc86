namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// Where binary statistics come from: descriptors copied from the VMMs that hold them, or QEMU's
/// QMP query-stats. A read refreshes every block it can reach.
/// </summary>
internal interface IVmStatsReader : IDisposable
{
    /// <summary>Fills <paramref name="vms"/> with the VMs reached, sorted by pid (a VM's blocks keep their identity across reads).</summary>
    void Read(List<VmStatsBlocks> vms);

    /// <summary>Adds how each place this reader reaches fared at its last read.</summary>
    void ReportHealth(List<SourceHealth> into);
}
