using KvmStat.Sources;

namespace KvmStat.Tests.Infrastructure;

/// <summary>A per-VM source whose VMs and values the test sets (a VM is reported while it has an entry).</summary>
internal sealed class FakeVmSource(params StatField[] fields) : IPerVmSource
{
    internal SortedDictionary<int, long[]> Vms { get; } = [];

    /// <summary>The rows the BPF engine adds (events outside VMs, of exited VMs), when set.</summary>
    internal long[]? Outside { get; set; }

    internal long[]? Exited { get; set; }

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
        foreach ((long[]? values, VmRowKind kind) in new[] { (Outside, VmRowKind.OutsideVms), (Exited, VmRowKind.ExitedVms) })
        {
            if (values is null)
                continue;
            var row = new VmReading(0, fields.Length, kind);
            values.CopyTo(row.Values, 0);
            readings.Add(row);
        }
    }

    public void Dispose()
    {
    }
}
