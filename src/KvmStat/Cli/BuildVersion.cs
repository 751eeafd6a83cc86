using System.Reflection;

namespace KvmStat.Cli;

/// <summary>
/// The release and the commit the binary was built from: the SDK stamps "VERSION+commit"
/// (VERSION is the repository's VERSION file) into the informational version.
/// </summary>
internal static class BuildVersion
{
    /// <summary>"1.0.0+754065f1f4d229020fe74d79741987d765202989", as the exporter's build information shows it.</summary>
    internal static string Stamp { get; } =
        typeof(BuildVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The release, as the packages are named: "1.0.0".</summary>
    internal static string Release => Stamp.Split('+')[0];

    /// <summary>The commit (a full hash), or null for a build outside a git checkout.</summary>
    internal static string? Commit => Stamp.Split('+') is [_, { Length: > 0 } commit, ..] ? commit : null;

    /// <summary>What --version prints: "kvm_stat 1.0.0 (commit 754065f1f4d2)".</summary>
    internal static string Line => $"kvm_stat {Release} (commit {(Commit is string commit ? commit[..Math.Min(12, commit.Length)] : "unknown")})";
}
