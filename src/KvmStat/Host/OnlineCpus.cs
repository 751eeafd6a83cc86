using System.Globalization;

namespace KvmStat.Host;

internal static class OnlineCpus
{
    /// <summary>Reads /sys/devices/system/cpu/online ("0-1,4").</summary>
    internal static IReadOnlyList<int> Read(HostPaths paths)
    {
        string text = SysFile.TryReadText(paths.CpuOnline, out int errno)
            ?? throw new EnvironmentException($"cannot read {paths.CpuOnline}: {Interop.Errno.Describe(errno)}.", "Is sysfs mounted at /sys?");
        return Parse(text) ?? throw new EnvironmentException($"cannot parse {paths.CpuOnline}: \"{text.Trim()}\"");
    }

    /// <summary>Parses a kernel CPU list; null when it is malformed.</summary>
    internal static IReadOnlyList<int>? Parse(string text)
    {
        var cpus = new List<int>();
        foreach (string member in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = member.IndexOf('-');
            if (dash < 0)
            {
                if (!int.TryParse(member, NumberStyles.None, CultureInfo.InvariantCulture, out int cpu))
                    return null;
                cpus.Add(cpu);
                continue;
            }
            if (!int.TryParse(member.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int first) ||
                !int.TryParse(member.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int last) ||
                last < first)
                return null;
            for (int cpu = first; cpu <= last; cpu++)
                cpus.Add(cpu);
        }
        return cpus.Count > 0 ? cpus : null;
    }
}
