namespace KvmStat.Sources.BinaryStats;

/// <summary>One VM's statistics blocks: its own and its vCPUs'.</summary>
internal sealed class VmStatsBlocks(int pid)
{
    internal int Pid { get; } = pid;

    internal List<IStatsBlock> Blocks { get; } = [];
}
