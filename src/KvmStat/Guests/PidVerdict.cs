namespace KvmStat.Guests;

/// <summary>Whether a pid names a VM the user may watch (-p, the screen's pid prompt), and if not, why.</summary>
internal enum PidVerdict
{
    /// <summary>A running process that holds a KVM VM.</summary>
    Vm,

    /// <summary>A running process of which it cannot be told whether it holds a VM (neither debugfs nor its descriptors can be read): taken for one, and said.</summary>
    Unconfirmed,

    /// <summary>No process has the pid, or it has exited (a zombie).</summary>
    NotRunning,

    /// <summary>A thread of another process: counting follows processes, so its process's pid is the one to give.</summary>
    Thread,

    /// <summary>A running process without a KVM VM.</summary>
    NotVm,
}
