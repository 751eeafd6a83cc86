namespace KvmStat.Sources;

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
