namespace KvmStat.Stats;

/// <summary>
/// How many vCPUs whose threads are all gone the running VMs may keep together (--vcpus). A vCPU
/// is known by its thread's name, and a VMM may name its threads "CPU N/KVM" for any N: each such
/// thread that exits would keep a vCPU of its own for as long as its VM runs. Beyond the budget,
/// what such a thread counted is no vCPU's, and said as lost (the VM's own counts keep it).
/// </summary>
internal sealed class GoneVcpuBudget(int capacity)
{
    /// <summary>Gone vCPUs all VMs may keep: 16,384, four VMs' worth of KVM's largest vCPU count.</summary>
    internal const int Default = 16_384;

    internal int Capacity { get; } = capacity;

    internal int Free { get; set; } = capacity;

    /// <summary>
    /// Where a thread's counts have the events every output shows (those of IGuestValues.VcpuFields
    /// that are no exit reason: a reason's exits are its tracepoint's events too); null: every count.
    /// </summary>
    internal int[]? Events { get; set; }

    /// <summary>Events of the shown fields that gone threads counted and no vCPU kept, since the start.</summary>
    internal long LostEvents { get; set; }
}
