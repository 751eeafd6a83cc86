namespace KvmStat.Sources.Bpf;

/// <summary>One process that holds a slot of the BPF table: its counts since its first event, and whether it runs a VM.</summary>
internal sealed class BpfProcess(int tgid, int slot, int fields)
{
    private static long s_instances;

    internal int Tgid { get; } = tgid;

    /// <summary>This process among all that held a slot, from 1: a new process under a dead one's pid has another.</summary>
    internal long Instance { get; } = Interlocked.Increment(ref s_instances);

    internal int Slot { get; } = slot;

    /// <summary>Decided once, at the capture that first reads the process.</summary>
    internal bool IsVm { get; set; }

    /// <summary>Its row as the last capture read it.</summary>
    internal long[] Totals { get; } = new long[fields];

    /// <summary>
    /// It lost its slot at the last capture (it exited, or it runs no VM): its row is read once more
    /// at the next capture (events that were under way), then the slot is free again.
    /// </summary>
    internal bool Retiring { get; set; }

    /// <summary>Its vCPU threads at the last capture (--vcpus), by vCPU.</summary>
    internal List<BpfThread> Threads { get; } = [];
}
