namespace KvmStat.Sources;

/// <summary>One VM's values in a per-VM read: cumulative counters since it was first seen.</summary>
internal sealed class VmReading(int pid, int fieldCount)
{
    internal int Pid { get; } = pid;

    internal long[] Values { get; } = new long[fieldCount];
}
