using System.Globalization;

namespace KvmStat.Host;

/// <summary>
/// Keeps the binary's resident size close to what runs. The kernel maps file pages around each
/// page fault ("fault-around", 64 KiB): with a large text segment, code that never runs (the
/// metrics server in a one-shot sample) becomes resident anyway. MADV_RANDOM on the binary's
/// own mappings turns that off, so later faults bring in only the page that is used.
/// </summary>
internal static class ResidentMemory
{
    internal static void FaultOnlyWhatRuns()
    {
        string? exe = Environment.ProcessPath;
        string? maps = SysFile.TryReadText("/proc/self/maps");
        if (exe is null || maps is null)
            return;
        foreach (string line in maps.Split('\n'))
        {
            if (!line.EndsWith(exe, StringComparison.Ordinal))
                continue;
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash < 0 || space < dash ||
                !ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start) ||
                !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end))
                continue;
            // Advice only: refused, the binary is read in as usual.
            _ = Interop.Libc.Madvise((nint)start, (nuint)(end - start), Interop.Abi.MADV_RANDOM);
        }
    }
}
