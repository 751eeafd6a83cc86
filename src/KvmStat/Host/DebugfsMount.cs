namespace KvmStat.Host;

/// <summary>Whether debugfs is mounted, as each reader of it must tell before saying what is missing.</summary>
internal static class DebugfsMount
{
    /// <summary>
    /// Whether /sys/kernel/debug has anything in it (a mounted debugfs is never empty); null where
    /// this user may not list it (mounted, it is root's; then <see cref="InMountTable"/> tells).
    /// </summary>
    internal static bool? Listed(HostPaths paths)
    {
        try
        {
            return Directory.Exists(paths.Debugfs) && Directory.EnumerateFileSystemEntries(paths.Debugfs).Any();
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        catch (IOException)
        {
            // Unmounted or gone while listed.
            return false;
        }
    }

    /// <summary>Whether this process's mount table has debugfs at /sys/kernel/debug (its fifth field the mount point, the fstype after " - ").</summary>
    internal static bool InMountTable(HostPaths paths) =>
        (SysFile.TryReadText(Path.Join(paths.Proc, "self", "mountinfo")) ?? "").Split('\n').Any(line =>
            line.Split(' ') is { Length: > 4 } fields && fields[4] == "/sys/kernel/debug" && line.Contains(" - debugfs ", StringComparison.Ordinal));
}
