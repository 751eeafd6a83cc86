namespace KvmStat.Sources;

/// <summary>One VM's values in a per-VM read: cumulative counters since it was first seen.</summary>
internal sealed class VmReading(int pid, int fieldCount)
{
    internal int Pid { get; } = pid;

    internal long[] Values { get; } = new long[fieldCount];
}

/// <summary>Reuses reading objects across refreshes: a VM keeps its entry while it runs.</summary>
internal sealed class VmReadingPool(int fieldCount)
{
    private readonly List<VmReading> _spare = [];

    /// <summary>Takes back every reading of the last refresh and empties the list.</summary>
    internal void Recycle(List<VmReading> readings)
    {
        _spare.AddRange(readings);
        readings.Clear();
    }

    internal VmReading Take(int pid)
    {
        for (int i = 0; i < _spare.Count; i++)
        {
            if (_spare[i].Pid == pid)
            {
                VmReading found = _spare[i];
                _spare.RemoveAt(i);
                return found;
            }
        }
        return new VmReading(pid, fieldCount);
    }
}

/// <summary>
/// A source that tells the VMs apart: which VMs run, and each one's values per field. It follows
/// VMs (and their threads) as they come and go.
/// </summary>
internal interface IPerVmSource : IDisposable
{
    IReadOnlyList<StatField> Fields { get; }

    /// <summary>Fills <paramref name="readings"/> with one entry per running VM, sorted by pid.</summary>
    void Read(List<VmReading> readings);
}
