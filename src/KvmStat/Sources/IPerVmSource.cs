namespace KvmStat.Sources;

/// <summary>
/// A source that tells the VMs apart: which VMs run, and each one's values per field. It follows
/// VMs (and their threads) as they come and go.
/// </summary>
internal interface IPerVmSource : IDisposable
{
    IReadOnlyList<StatField> Fields { get; }

    /// <summary>What each vCPU of a reading counts (<see cref="VcpuReading.Values"/>): indexes into <see cref="Fields"/>; empty without per-vCPU counts.</summary>
    IReadOnlyList<int> VcpuFields => [];

    /// <summary>Events of vCPU threads that could not be counted per vCPU (the engine's table of threads was full), since the start.</summary>
    long VcpusLost => 0;

    /// <summary>Exits of vCPU threads whose reason could not be counted per vCPU (see <see cref="Stats.IGuestValues.VcpuReasonsLost"/>).</summary>
    long VcpuReasonsLost => 0;

    /// <summary>Running VMs left out of the readings because they cannot be counted (their perf counters refused to open, or the BPF table had no slot for them); their events are in the host's totals.</summary>
    int VmsLeftOut => LeftOut.Count;

    /// <summary>Why VMs are left out, in a few words for a line that names them (the screen's last line).</summary>
    string LeftOutCause => "they cannot be counted";

    /// <summary>The pids of <see cref="VmsLeftOut"/>, sorted, as of the last read: which VMs an operator is not shown.</summary>
    IReadOnlyList<int> LeftOut => [];

    /// <summary>
    /// Whether it counts VM processes only (the perf engine's counters on VM threads): then the
    /// host's events beyond them are found by <see cref="Stats.OutsideRemainder"/>; other sources
    /// give their own rows outside VMs, or have none (debugfs counts only VMs).
    /// </summary>
    bool SeesOnlyVms => false;

    /// <summary>Fills <paramref name="readings"/> with one entry per running VM, sorted by pid.</summary>
    void Read(List<VmReading> readings);

    /// <summary>Between reads: starts counting VMs that started since (a source that counts only what it opened), or tidies up after those that exited; nothing for the others.</summary>
    void Follow()
    {
    }
}
