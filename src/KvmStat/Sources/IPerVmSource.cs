namespace KvmStat.Sources;

/// <summary>
/// A source that tells the VMs apart: which VMs run, and each one's values per field. It follows
/// VMs (and their threads) as they come and go.
/// </summary>
internal interface IPerVmSource : IDisposable
{
    IReadOnlyList<StatField> Fields { get; }

    /// <summary>Fills <paramref name="readings"/> with one entry per running VM, sorted by pid.</summary>
    void Read(List<VmReading> readings);

    /// <summary>Between reads: starts counting VMs that started since (a source that counts only what it opened); nothing for the others.</summary>
    void Follow()
    {
    }
}
