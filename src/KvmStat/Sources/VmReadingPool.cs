namespace KvmStat.Sources;

/// <summary>
/// Reuses reading objects across refreshes: a VM keeps its entry while it runs. Only the last
/// refresh's readings are kept for reuse, so VMs that come and go leave nothing behind.
/// </summary>
internal sealed class VmReadingPool(int fieldCount)
{
    private readonly List<VmReading> _spare = [];

    /// <summary>Readings kept for reuse (for tests of what stays bounded).</summary>
    internal int SpareCount => _spare.Count;

    /// <summary>Takes back the VM readings of the last refresh (dropping older spares) and empties the list.</summary>
    internal void Recycle(List<VmReading> readings)
    {
        _spare.Clear();
        foreach (VmReading reading in readings)
        {
            if (reading.Kind == VmRowKind.Vm)
                _spare.Add(reading);
        }
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
