using System.Globalization;

namespace KvmStat.Guests;

/// <summary>A thread of a VM and the vCPU it runs (-1: not known), named as the binary statistics name their vCPUs.</summary>
internal readonly record struct VcpuThread(int Tid, int Index)
{
    /// <summary>"vcpu2", or where the vCPU is not known the thread: "tid 1234".</summary>
    internal string Label => Index >= 0 ? LabelOf(Index) : "tid " + Tid.ToString(CultureInfo.InvariantCulture);

    /// <summary>"vcpu2": the one way a vCPU is named, by threads and by the binary statistics alike.</summary>
    internal static string LabelOf(int index) => "vcpu" + index.ToString(CultureInfo.InvariantCulture);
}
