using System.Reflection;

namespace KvmStat.Cli;

/// <summary>
/// The release and the commit the binary was built from: the SDK stamps "VERSION+commit"
/// (VERSION is the repository's VERSION file) into the informational version, and
/// Directory.Build.props "+dirty" after it when the tree had uncommitted changes.
/// </summary>
internal static class BuildVersion
{
    /// <summary>"1.0.0+754065f1f4d229020fe74d79741987d765202989", as the exporter's build information shows it.</summary>
    internal static string Stamp { get; } =
        typeof(BuildVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The release, as the packages are named: "1.0.0", or a pre-release such as "1.0.0~rc1".</summary>
    internal static string Release => Stamp.Split('+')[0];

    /// <summary>What --version prints.</summary>
    internal static string Line => LineOf(Stamp);

    /// <summary>
    /// "kvm_stat 1.0.0 (commit 754065f1f4d2)" for a stamp "1.0.0+754065f1f4d2…", and
    /// "(commit 754065f1f4d2+dirty)" for a build from a tree with uncommitted changes: not that commit.
    /// </summary>
    internal static string LineOf(string stamp)
    {
        string[] parts = stamp.Split('+');
        string commit = parts is [_, { Length: > 0 } hash, ..] ? hash[..Math.Min(12, hash.Length)] : "unknown";
        string dirty = parts.Length > 2 && parts[^1] == "dirty" ? "+dirty" : "";
        return $"kvm_stat {parts[0]} (commit {commit}{dirty})";
    }
}
