namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// What installing a package may change on this machine beyond its own files, to compare before
/// and after: users and groups, the systemd units' links, and deb-systemd-helper's records.
/// </summary>
internal sealed record HostState(string Users, string Groups, string[] SystemdLinks, string[] HelperState)
{
    private static readonly string[] s_helperFolders =
        ["/var/lib/systemd/deb-systemd-helper-enabled", "/var/lib/systemd/deb-systemd-helper-masked"];

    internal static HostState Take() => new(
        File.ReadAllText("/etc/passwd"),
        File.ReadAllText("/etc/group"),
        Tree("/etc/systemd/system"),
        [.. s_helperFolders.SelectMany(Tree)]);

    internal void AssertSameAs(HostState before)
    {
        Assert.Equal(before.Users, Users);
        Assert.Equal(before.Groups, Groups);
        Assert.Equal(before.SystemdLinks, SystemdLinks);
        Assert.Equal(before.HelperState, HelperState);
    }

    private static string[] Tree(string folder) => Directory.Exists(folder)
        ? [.. Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)]
        : [];
}
