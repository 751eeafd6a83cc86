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

    /// <summary>Its vCPU threads (--vcpus), by vCPU; empty where not counted.</summary>
    internal List<VcpuStat> Vcpus { get; } = [];

    /// <summary>By vCPU: what its threads that are gone counted (a vCPU's count goes on over a new thread).</summary>
    internal Dictionary<int, long[]> VcpusGone { get; } = [];

    /// <summary>
    /// Where the threads of <see cref="Vcpus"/>[<paramref name="first"/>]'s vCPU end: they come
    /// together (an old thread beside its replacement in one sample); a thread of no known vCPU is
    /// one on its own.
    /// </summary>
    internal int EndOfVcpu(int first)
    {
        int index = Vcpus[first].Index, next = first + 1;
        while (index >= 0 && next < Vcpus.Count && Vcpus[next].Index == index)
            next++;
        return next;
    }

    /// <summary>What the gone threads of <paramref name="vcpu"/>'s vCPU counted; null for none, or for a thread of no known vCPU.</summary>
    internal long[]? GoneOf(VcpuStat vcpu) => vcpu.Index >= 0 ? VcpusGone.GetValueOrDefault(vcpu.Index) : null;
}
