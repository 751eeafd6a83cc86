using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// One vCPU of a running VM as every output shows it (--vcpus): what its threads counted since their
/// first event, those that are gone included (a vCPU unplugged and plugged again goes on over its new
/// thread), and since the last sample; with exit latencies its histograms per kind of exit, summed
/// alike. A thread of no known vCPU is one of its own.
/// </summary>
internal sealed class VcpuStat(int fieldCount)
{
    /// <summary>Its vCPU, or -1 for a thread of no known vCPU (then <see cref="Label"/> names the thread).</summary>
    internal int Index { get; set; } = -1;

    /// <summary>Its newest thread; 0 when all its threads are gone.</summary>
    internal int Tid { get; set; }

    /// <summary>"vcpu0", or "tid 1234" (see Guests.VcpuThread).</summary>
    internal string Label { get; set; } = "";

    /// <summary>Per field of <see cref="IGuestValues.VcpuFields"/> and beyond (a thread counts every tracepoint of the engine).</summary>
    internal long[] Totals { get; } = new long[fieldCount];

    internal long[] Deltas { get; } = new long[fieldCount];

    /// <summary>Exits handled in user space, then in the kernel (cumulative); null without exit latencies.</summary>
    internal LatencyHistogram[]? Latency { get; set; }

    /// <summary>The last sample of <see cref="GuestVcpus"/> that showed it.</summary>
    internal long Sampled { get; set; }
}
