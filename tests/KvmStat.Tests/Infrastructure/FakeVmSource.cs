using KvmStat.Sources;

namespace KvmStat.Tests.Infrastructure;

/// <summary>A per-VM source whose VMs and values the test sets (a VM is reported while it has an entry).</summary>
internal sealed class FakeVmSource(params StatField[] fields) : IPerVmSource
{
    internal SortedDictionary<int, long[]> Vms { get; } = [];

    /// <summary>Which process each VM's pid is (<see cref="VmReading.Instance"/>); 0 where not set.</summary>
    internal Dictionary<int, long> Instances { get; } = [];

    /// <summary>The rows the BPF engine adds (events outside VMs, of exited VMs), when set.</summary>
    internal long[]? Outside { get; set; }

    internal long[]? Exited { get; set; }

    internal long[]? Unattributed { get; set; }

    public IReadOnlyList<StatField> Fields => fields;

    /// <summary>Counts VM processes only (as the perf engine): the host's other events are found by difference.</summary>
    internal bool OnlyVms { get; set; }

    public bool SeesOnlyVms => OnlyVms;

    /// <summary>What each vCPU counts (--vcpus): indexes into the fields; none unless set.</summary>
    internal List<int> VcpuFieldIndexes { get; } = [];

    public IReadOnlyList<int> VcpuFields => VcpuFieldIndexes;

    /// <summary>Each VM's vCPU threads, by pid: reported with the VM's reading.</summary>
    internal Dictionary<int, List<VcpuReading>> Vcpus { get; } = [];

    internal long Lost { get; set; }

    /// <summary>What <see cref="Follow"/> throws, when set.</summary>
    internal Exception? FollowFails { get; set; }

    internal int Followed { get; private set; }

    public void Follow()
    {
        if (FollowFails is not null)
            throw FollowFails;
        Followed++;
    }

    public long VcpusLost => Lost;

    public int VmsLeftOut { get; set; }

    /// <summary>Which VMs are left out, by pid.</summary>
    internal List<int> LeftOutPids { get; } = [];

    public IReadOnlyList<int> LeftOut => LeftOutPids;

    /// <summary>Sets a vCPU thread of VM <paramref name="pid"/>: its counts, one per <see cref="VcpuFields"/>.</summary>
    internal VcpuReading SetVcpu(int pid, int tid, int index, params long[] values)
    {
        if (!Vcpus.TryGetValue(pid, out List<VcpuReading>? vcpus))
            Vcpus[pid] = vcpus = [];
        // A thread's reading is one object for its life, as the engine's are.
        if (vcpus.Find(v => v.Tid == tid) is VcpuReading known && known.Values.Length == values.Length)
        {
            values.CopyTo(known.Values, 0);
            return known;
        }
        vcpus.RemoveAll(v => v.Tid == tid);
        var reading = new VcpuReading(tid, index, index >= 0 ? $"vcpu{index}" : $"tid {tid}", values, null);
        vcpus.Add(reading);
        vcpus.Sort((a, b) => (a.Index < 0, a.Index, a.Tid).CompareTo((b.Index < 0, b.Index, b.Tid)));
        return reading;
    }

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
            var reading = new VmReading(pid, fields.Length) { Instance = Instances.GetValueOrDefault(pid) };
            values.CopyTo(reading.Values, 0);
            reading.Vcpus.AddRange(Vcpus.GetValueOrDefault(pid) ?? []);
            readings.Add(reading);
        }
        foreach ((long[]? values, VmRowKind kind) in new[] { (Outside, VmRowKind.OutsideVms), (Exited, VmRowKind.ExitedVms), (Unattributed, VmRowKind.Unattributed) })
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
