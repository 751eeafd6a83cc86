namespace KvmStat.Host;

/// <summary>What <see cref="KvmAvailability"/> found.</summary>
internal enum KvmState
{
    /// <summary>/dev/kvm exists: VMs can run.</summary>
    Usable,

    /// <summary>KVM is in the kernel (built in or loaded) but offers no /dev/kvm here.</summary>
    NotUsable,

    /// <summary>No KVM in the kernel: the module is not loaded.</summary>
    NotLoaded,
}
