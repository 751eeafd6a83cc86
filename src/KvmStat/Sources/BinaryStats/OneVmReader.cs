namespace KvmStat.Sources.BinaryStats;

/// <summary>Keeps only the watched VM (-p/-g) of what another reader reaches.</summary>
internal sealed class OneVmReader(IVmStatsReader inner, int pid) : IVmStatsReader
{
    private readonly Predicate<VmStatsBlocks> _others = vm => vm.Pid != pid;

    public void Read(List<VmStatsBlocks> vms)
    {
        inner.Read(vms);
        vms.RemoveAll(_others);
    }

    public void ReportHealth(List<SourceHealth> into) => inner.ReportHealth(into);

    public void Dispose() => inner.Dispose();
}
