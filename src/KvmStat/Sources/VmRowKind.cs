namespace KvmStat.Sources;

/// <summary>What a per-VM reading is: a VM, or one of the rows that make the VMs add up to the host.</summary>
internal enum VmRowKind
{
    /// <summary>A VM process.</summary>
    Vm,

    /// <summary>Everything outside VM processes: kernel threads ageing guest memory, other processes.</summary>
    OutsideVms,

    /// <summary>What VMs that have exited since the start counted.</summary>
    ExitedVms,

    /// <summary>Events of processes the engine had no room left to tell apart (its table of processes was full).</summary>
    Unattributed,
}
