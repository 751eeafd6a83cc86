namespace KvmStat.Sources.BinaryStats;

/// <summary>The statistics blocks of one VM process (its VM and each vCPU).</summary>
internal sealed class VmStatsBlocks(int pid)
{
    private static long s_instances;

    internal int Pid { get; } = pid;

    /// <summary>
    /// Which process under its pid: the blocks of a new process under a dead VM's pid are new blocks,
    /// with their own instance, so that nothing (counts, its name) passes from one to the other.
    /// </summary>
    internal long Instance { get; } = Interlocked.Increment(ref s_instances);

    internal List<IStatsBlock> Blocks { get; } = [];

    /// <summary>
    /// The VM's guest name ("" without one), which the sampler looks up once for this instance:
    /// outputs only read it, and it goes with the VM's blocks.
    /// </summary>
    internal string? Name { get; set; }
}
