using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// One vCPU thread of a running VM (--vcpus): its counts per field of <see cref="IGuestValues.VcpuFields"/>
/// since its first event and since the last sample, and with exit latencies its histogram per kind of exit.
/// </summary>
internal sealed class VcpuStat(int fieldCount)
{
    /// <summary>Its vCPU, or -1 where not known (then <see cref="Label"/> names the thread).</summary>
    internal int Index { get; set; } = -1;

    internal int Tid { get; set; }

    /// <summary>"vcpu0", or "tid 1234" (see Guests.VcpuThread).</summary>
    internal string Label { get; set; } = "";

    internal long[] Totals { get; } = new long[fieldCount];

    internal long[] Deltas { get; } = new long[fieldCount];

    /// <summary>Exits handled in user space, then in the kernel (cumulative); null without exit latencies.</summary>
    internal LatencyHistogram[]? Latency { get; set; }

    /// <summary>Its thread was in the last reading (while a sample matches threads).</summary>
    internal bool Seen { get; set; }
}
