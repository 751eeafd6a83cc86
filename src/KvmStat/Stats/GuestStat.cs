using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// One running VM (or one of the rows that make the VMs add up to the host: see <see cref="VmRowKind"/>):
/// all its selected events together, and each field on its own.
/// </summary>
internal sealed class GuestStat(int pid, string name, int fieldCount, VmRowKind kind = VmRowKind.Vm)
{
    /// <summary>The VM's process; 0 for a row that is no VM.</summary>
    internal int Pid { get; } = pid;

    /// <summary>The guest name (untrusted: escape before showing), or "" without -name.</summary>
    internal string Name { get; } = name;

    internal VmRowKind Kind { get; } = kind;

    /// <summary>Its process among those under its pid (<see cref="Sources.VmReading.Instance"/>).</summary>
    internal long Instance { get; init; }

    /// <summary>The parent counters summed: the per-guest view's row.</summary>
    internal long Total { get; set; }

    internal long Delta { get; set; }

    /// <summary>Per field of <see cref="GuestStats.Fields"/>: counts since the VM was first seen (gauges: values).</summary>
    internal long[] FieldTotals { get; } = new long[fieldCount];

    internal long[] FieldDeltas { get; } = new long[fieldCount];

    /// <summary>Its vCPUs (--vcpus), each over its threads; empty where not counted.</summary>
    internal IReadOnlyList<VcpuStat> Vcpus => VcpuThreads.Rows;

    /// <summary>
    /// Where <see cref="Vcpus"/> are summed from the vCPU threads, once per sample: a VM's is given,
    /// the rows that are no VM's make theirs when first asked.
    /// </summary>
    internal GuestVcpus VcpuThreads { get => _vcpuThreads ??= new(); init => _vcpuThreads = value; }

    private GuestVcpus? _vcpuThreads;
}
