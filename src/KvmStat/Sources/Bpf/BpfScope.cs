namespace KvmStat.Sources.Bpf;

/// <summary>
/// What the programs tell apart, and so what each event costs the guest: every process (the
/// per-VM views: a per-CPU cache and a table of processes), or nothing (the host's totals: one
/// row, the lightest program), or one process (-p/-g: one row, events of other processes skipped).
/// </summary>
internal readonly record struct BpfScope(bool PerProcess, int Pid)
{
    internal static BpfScope EveryProcess => new(true, 0);

    internal static BpfScope Host => new(false, 0);

    internal static BpfScope OneProcess(int pid) => new(false, pid);

    /// <summary>The scope a view needs: each VM's values, or the host's (all processes, or one).</summary>
    internal static BpfScope For(bool perVm, int pid) => perVm ? EveryProcess : pid > 0 ? OneProcess(pid) : Host;
}
