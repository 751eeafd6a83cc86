namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// KVM's binary statistics of every VM reached, read once per sample (QMP, or descriptors a VMM
/// holds): the host's fields (<see cref="BinaryStatsSource"/>: counted from the tool's start, as the
/// reference counts), each VM's, JSON's binary_stats and the exporter all take this one reading, so
/// a statistic as KVM keeps it is the same quantity in JSON's binary_stats and the exporter.
/// </summary>
internal sealed class BinaryStatsCapture(IVmStatsReader reader) : ICapture, IDisposable
{
    private readonly List<VmStatsBlocks> _vms = [];

    /// <summary>The VMs reached at the last capture, sorted by pid (a VM's blocks keep their identity across captures).</summary>
    internal IReadOnlyList<VmStatsBlocks> Vms => _vms;

    /// <summary>Captures taken (the first one is taken when a source learns its fields).</summary>
    internal int Count { get; private set; }

    public void Capture()
    {
        reader.Read(_vms);
        Count++;
    }

    /// <summary>How each place the reader reaches fared at the last capture.</summary>
    internal void ReportHealth(List<SourceHealth> into) => reader.ReportHealth(into);

    public void Dispose() => reader.Dispose();
}
