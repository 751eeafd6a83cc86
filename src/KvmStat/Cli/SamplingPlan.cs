using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>What a sampler reads, as a mode (or the screen's view) asks for it.</summary>
/// <param name="Selection">The fields counted.</param>
/// <param name="Pid">One VM (its process), or 0 for all.</param>
/// <param name="PerVm">Each VM's values too (JSON, the screen's guest view, the exporter).</param>
/// <param name="BinaryFields">Binary statistics among the host's fields (summed over VMs, per-vCPU children).</param>
/// <param name="BinaryPerVm">Each VM's binary statistics as they are, in the snapshot (JSON, the exporter).</param>
/// <param name="Lenient">A source that cannot be opened is served as down with the reason, instead of ending the tool (the exporter).</param>
/// <param name="HoldWhenVmExits">Once the watched VM has exited, keep its last sample instead of reading on (the screen's "Guest is DEAD").</param>
/// <param name="Latency">Exit latencies too (the BPF engine): as fields, and each VM's histograms in the snapshot.</param>
/// <param name="Vcpus">Tracepoints per vCPU thread too (the BPF engine): children per vCPU of one VM's fields, each VM's vCPUs with <paramref name="PerVm"/>.</param>
internal sealed record SamplingPlan(FieldSelection Selection, int Pid, bool PerVm, bool BinaryFields, bool BinaryPerVm, bool Lenient, bool HoldWhenVmExits = false,
    bool Latency = false, bool Vcpus = false)
{
    /// <summary>Whether anything of the plan shows vCPUs: one VM's fields, or each VM's values.</summary>
    internal bool CountsVcpus => Vcpus && (PerVm || Pid > 0);

    /// <summary>Whether the host's fields are one VM's with a child per vCPU.</summary>
    internal bool VcpuChildren => Vcpus && Pid > 0 && !PerVm;
}
