namespace KvmStat.Sources.BinaryStats;

/// <summary>Held descriptors and QMP together: each VM once, from the first reader that reaches it.</summary>
internal sealed class CombinedReader(IReadOnlyList<IVmStatsReader> readers) : IVmStatsReader
{
    private readonly List<VmStatsBlocks> _scratch = [];

    public void Read(List<VmStatsBlocks> vms)
    {
        vms.Clear();
        foreach (IVmStatsReader reader in readers)
        {
            reader.Read(_scratch);
            foreach (VmStatsBlocks vm in _scratch)
            {
                if (!vms.Exists(known => known.Pid == vm.Pid))
                    vms.Add(vm);
            }
        }
        vms.Sort((a, b) => a.Pid.CompareTo(b.Pid));
    }

    public void ReportHealth(List<SourceHealth> into)
    {
        foreach (IVmStatsReader reader in readers)
            reader.ReportHealth(into);
    }

    public void Dispose()
    {
        foreach (IVmStatsReader reader in readers)
            reader.Dispose();
    }
}
