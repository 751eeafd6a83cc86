namespace KvmStat.Sources;

/// <summary>
/// One vCPU thread of a VM in a per-VM read: its counts since its first event, one per field of
/// <see cref="IPerVmSource.VcpuFields"/>, and with exit latencies its histogram per kind of exit.
/// One object for the thread's whole life, its values updated in place: a thread is told from
/// another under a thread id used again by it (Stats.GuestVcpus).
/// </summary>
/// <param name="Index">Its vCPU, or -1 where not known (then <paramref name="Label"/> names the thread: "tid 1234").</param>
/// <param name="Label">"vcpu0", as the binary statistics name their vCPUs, or "tid 1234".</param>
/// <param name="Latency">Exits handled in user space, then in the kernel; null without exit latencies.</param>
internal sealed record VcpuReading(int Tid, int Index, string Label, long[] Values, LatencyHistogram[]? Latency)
{
    /// <summary>The last sample of Stats.GuestVcpus that read it: tells its thread from the last sample's without a set of them.</summary>
    internal long Sampled { get; set; }
}
