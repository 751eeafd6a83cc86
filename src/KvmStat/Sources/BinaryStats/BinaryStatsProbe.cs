using KvmStat.Guests;
using KvmStat.Host;

namespace KvmStat.Sources.BinaryStats;

/// <summary>Which ways to KVM's binary statistics this host offers right now (for hints and --doctor).</summary>
internal static class BinaryStatsProbe
{
    /// <summary>Which of the VM processes <paramref name="pids"/> (the run's list) keep statistics descriptors open, with how many.</summary>
    internal static IReadOnlyList<(int Pid, int Descriptors)> HeldDescriptors(HostPaths paths, IReadOnlyList<int> pids)
    {
        var finder = new GuestFinder(paths);
        var found = new List<(int, int)>();
        foreach (int pid in pids)
        {
            int count = finder.DescriptorLinks(pid)?.Count(d => HeldDescriptorReader.IsStatsDescriptor(d.Link)) ?? 0;
            if (count > 0)
                found.Add((pid, count));
        }
        return found;
    }

    /// <summary>What to tell a user whose debugfs counters are locked down, of the running VMs <paramref name="pids"/>.</summary>
    internal static string LockdownHint(HostPaths paths, IReadOnlyList<int> pids)
    {
        int held = HeldDescriptors(paths, pids).Count;
        int qmp = QmpSocketDiscovery.Find(paths, pids).Count;
        if (held > 0 || qmp > 0)
        {
            var ways = new List<string>();
            if (held > 0)
                ways.Add($"{held} VM(s) keep their statistics descriptors open: add --binary-stats");
            if (qmp > 0)
                ways.Add($"{qmp} QEMU QMP socket(s) found: add --qmp auto");
            return "KVM's binary statistics have the same counters and work under lockdown; " + string.Join("; ", ways) + ".";
        }
        return "KVM's binary statistics have the same counters and work under lockdown: --binary-stats (QEMU 8.1 and later) or --qmp PATH (QEMU 7.1 and later).";
    }
}
