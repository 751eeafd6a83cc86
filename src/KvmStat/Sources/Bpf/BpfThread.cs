using KvmStat.Guests;

namespace KvmStat.Sources.Bpf;

/// <summary>A vCPU thread with a row of the BPF engine's table of threads (--vcpus): its counts since its first event, and its vCPU.</summary>
internal sealed class BpfThread
{
    internal BpfThread(VcpuThread thread, int tgid, int row, int fields, bool latency)
    {
        Tgid = tgid;
        Row = row;
        Reading = new VcpuReading(thread.Tid, thread.Index, thread.Label, new long[fields],
            latency ? [.. Enumerable.Range(0, BpfTableLayout.ExitKinds).Select(_ => new LatencyHistogram(BpfTableLayout.ThreadLatencyBuckets))] : null);
    }

    internal int Tid => Reading.Tid;

    /// <summary>Its process.</summary>
    internal int Tgid { get; }

    internal int Row { get; }

    /// <summary>What outputs read of it: its vCPU, and its row as the last capture read it.</summary>
    internal VcpuReading Reading { get; }

    /// <summary>A counter per field (tracepoints and their exit reasons), as the last capture read them.</summary>
    internal long[] Totals => Reading.Values;

    /// <summary>It gave its row back at the last capture (it exited, or its process runs no VM): read once more at the next, then freed.</summary>
    internal bool Retiring { get; set; }

    /// <summary>Captures that asked again which vCPU it runs, while none was known.</summary>
    internal int Unidentified { get; set; }

    /// <summary>Captures in a row at which its process was no VM the engine knows.</summary>
    internal int Unclaimed { get; set; }
}
