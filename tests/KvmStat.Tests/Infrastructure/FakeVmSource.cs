using KvmStat.Sources;

namespace KvmStat.Tests.Infrastructure;

/// <summary>A per-VM source whose VMs and values the test sets (a VM is reported while it has an entry).</summary>
internal sealed class FakeVmSource(params StatField[] fields) : IPerVmSource
{
    internal SortedDictionary<int, long[]> Vms { get; } = [];

    public IReadOnlyList<StatField> Fields => fields;

    internal void Set(int pid, string field, long value)
    {
        if (!Vms.TryGetValue(pid, out long[]? values))
            Vms[pid] = values = new long[fields.Length];
        values[Array.FindIndex(fields, f => f.Name == field)] = value;
    }

    public void Read(List<VmReading> readings)
    {
        readings.Clear();
        foreach ((int pid, long[] values) in Vms)
        {
            var reading = new VmReading(pid, fields.Length);
            values.CopyTo(reading.Values, 0);
            readings.Add(reading);
        }
    }

    public void Dispose()
    {
    }
}
