using System.Text;

namespace KvmStat.Host;

/// <summary>
/// Whether VMs can run on this host: KVM usable (/dev/kvm), KVM in the kernel but not usable here
/// (no /dev/kvm: no hardware support, disabled by the firmware, or a kernel that is itself a guest),
/// or the KVM module not loaded, with the kernel's own words where its log has them.
/// </summary>
internal sealed record KvmAvailability(KvmState State, string? KernelReason, bool BuiltIn = true, bool NodeHidden = false)
{
    internal bool Usable => State == KvmState.Usable;

    internal static KvmAvailability Probe(HostPaths paths)
    {
        if (File.Exists(paths.DevKvm))
            return new KvmAvailability(KvmState.Usable, null);
        // The kernel made its device, but this process's /dev does not show it: a sandbox's
        // (systemd's PrivateDevices), where VMs run all the same.
        if (Directory.Exists(paths.Map("/sys/class/misc/kvm")))
            return new KvmAvailability(KvmState.Usable, null, NodeHidden: true);
        string module = Path.Join(paths.SysModule, "kvm");
        bool loaded = Directory.Exists(module);
        // A loadable module has an initstate; one built into the kernel has none.
        return new KvmAvailability(loaded ? KvmState.NotUsable : KvmState.NotLoaded, KernelSaid(paths),
            BuiltIn: !File.Exists(Path.Join(module, "initstate")));
    }

    /// <summary>The finding, in one sentence: "KVM is built in but not usable here (no /dev/kvm): ...".</summary>
    internal string Describe() => State switch
    {
        KvmState.Usable => NodeHidden ? "the kernel's KVM device exists (/sys/class/misc/kvm), though this process's /dev does not show it (a sandbox)" : "/dev/kvm present",
        KvmState.NotUsable => $"KVM is {(BuiltIn ? "built in" : "loaded")} but not usable here (no /dev/kvm){Said}",
        _ => $"the KVM module is not loaded (no /sys/module/kvm, no /dev/kvm){Said}",
    };

    /// <summary>What to do about it (null when KVM is usable).</summary>
    internal string? Fix => State switch
    {
        KvmState.Usable => null,
        KvmState.NotLoaded => "Load it as root: modprobe kvm_intel (Intel) or modprobe kvm_amd (AMD).",
        _ => "No VM can run on this host until the kernel can use the CPU's virtualization (check the firmware setting, or nested virtualization where this host is itself a VM).",
    };

    private string Said => KernelReason is null ? "" : $"; the kernel said: \"{Text.Escape(KernelReason)}\"";

    /// <summary>
    /// The last message of a KVM module in the kernel's log (/dev/kmsg, which root may read), such
    /// as "kvm: disabled by bios" or "kvm-pvm: this kernel is itself a kvm-pvm guest; not binding";
    /// messages of a guest's own paravirtual drivers (kvm-clock, kvm-guest) are not about KVM.
    /// </summary>
    internal static string? KernelSaid(HostPaths paths)
    {
        string? last = null;
        foreach (string message in KernelLog(paths))
        {
            if (IsKvmModule(message))
                last = message;
        }
        return last;
    }

    private static bool IsKvmModule(string message)
    {
        int colon = message.IndexOf(':');
        if (colon <= 0)
            return false;
        string prefix = message[..colon];
        return prefix is "kvm" or "kvm_intel" or "kvm_amd" or "kvm-pvm" || prefix.StartsWith("kvm-intel", StringComparison.Ordinal);
    }

    /// <summary>The messages of the kernel's log: /dev/kmsg gives one record per read ("PRIO,SEQ,TIME,FLAGS;TEXT").</summary>
    private static List<string> KernelLog(HostPaths paths)
    {
        var messages = new List<string>();
        int fd = Interop.Libc.Open(Interop.NulTerminated(paths.KernelLog), Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC | Interop.Abi.O_NONBLOCK);
        if (fd < 0)
            return messages;
        try
        {
            byte[] buffer = new byte[8192];
            var text = new StringBuilder();
            // Bounded: a log is read once, at most this many records (the kernel keeps about as many).
            for (int records = 0; records < 100_000; records++)
            {
                nint n = Interop.Libc.ReadRetrying(fd, buffer);
                if (n <= 0)
                    break;
                text.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
            }
            foreach (string line in text.ToString().Split('\n'))
            {
                int semicolon = line.IndexOf(';');
                if (semicolon > 0 && !line.StartsWith(' '))
                    messages.Add(line[(semicolon + 1)..].Trim());
            }
        }
        finally
        {
            // A close of a descriptor only read from cannot lose anything.
            _ = Interop.Libc.Close(fd);
        }
        return messages;
    }
}
