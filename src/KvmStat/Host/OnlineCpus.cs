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

    /// <summary>Where the kernel lists its possible CPUs: the real file, never a fixture root's.</summary>
    internal const string KernelPossible = "/sys/devices/system/cpu/possible";

    /// <summary>
    /// How many CPUs the running kernel may ever bring up ("0-383": 384). A per-CPU BPF map gives a
    /// value for each, so a buffer for them must be sized by the kernel's own count, never a
    /// fixture's or a guess: one short would be written past its end.
    /// </summary>
    internal static int Possible(string path = KernelPossible)
    {
        string text = SysFile.TryReadText(path, out int errno)
            ?? throw new EnvironmentException($"cannot read {path}: {Interop.Errno.Describe(errno)}; the BPF engine's per-CPU tables need the number of possible CPUs.",
                "Is sysfs mounted at /sys? Otherwise count with --engine perf.");
        return Parse(text)?.Count
            ?? throw new EnvironmentException($"cannot parse {path}: \"{Text.EscapeControls(text.Trim())}\"; the BPF engine's per-CPU tables need the number of possible CPUs.",
                "Count with --engine perf.");
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
