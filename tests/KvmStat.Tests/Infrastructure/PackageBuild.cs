using System.Globalization;
using KvmStat.Tests.Architecture;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// The packages of the published binaries (packaging/build-packages.sh, as ./build.sh package runs
/// it), made once for the package tests: the release under the VERSION file's version, and the
/// next version, to upgrade to. Deleted when the tests are done.
/// </summary>
/// <remarks>
/// The next version is made from a copy of the packaging inputs in which that release changed
/// things, as a real one would: a comment in the exporter's unit (a file an upgrade must replace)
/// and the default arguments' file (a configuration file, which the operator changes too). The
/// logrotate snippet stays as it was (a configuration file only the operator changes).
/// </remarks>
public sealed class PackageBuild : IDisposable
{
    /// <summary>
    /// The package tests install kvm-stat on this machine: ./test.sh runs them alone, as a suite of
    /// their own, never beside tests that expect no /usr/bin/kvm_stat.
    /// </summary>
    public const string Category = "Package";

    /// <summary>The line the next version adds to the exporter's unit.</summary>
    public const string UpgradedUnitLine = "# Changed by the next release: upgrades replace this file.";

    /// <summary>The line the next version adds to the arguments' file.</summary>
    public const string UpgradedDefaultsLine = "# Changed by the next release: the operator's changes stay.";

    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-packages-").FullName;

    public PackageBuild()
    {
        Version = File.ReadAllText(Path.Join(Repository.Root, "VERSION")).Trim();
        UpgradeVersion = NextVersion(Version);
        try
        {
            Build(Repository.Root, Release, Version);
            Build(ChangedTree(), Upgrade, UpgradeVersion);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The VERSION file's version, which the release packages carry.</summary>
    public string Version { get; }

    /// <summary>The next version (its last number one up, a pre-release's suffix dropped), which the upgrade packages carry.</summary>
    public string UpgradeVersion { get; }

    public string Release => Path.Join(_folder, "release");

    public string Upgrade => Path.Join(_folder, "upgrade");

    /// <summary>kvm-stat_VERSION_ARCH.deb in <paramref name="folder"/> (Debian's architecture names).</summary>
    public string Deb(string folder, string arch) =>
        Path.Join(folder, $"kvm-stat_{(folder == Upgrade ? UpgradeVersion : Version)}_{arch}.deb");

    /// <summary>kvm-stat-VERSION-1.ARCH.rpm in <paramref name="folder"/> (RPM's architecture names).</summary>
    public string Rpm(string folder, string arch) =>
        Path.Join(folder, $"kvm-stat-{(folder == Upgrade ? UpgradeVersion : Version)}-1.{arch}.rpm");

    /// <summary>1.0.0 → 1.0.1, and 1.0.0~rc1 → 1.0.1 too.</summary>
    public static string NextVersion(string version)
    {
        string[] parts = version.Split('~')[0].Split('.');
        parts[^1] = (int.Parse(parts[^1], CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        return string.Join('.', parts);
    }

    /// <summary>Runs a packaging script of the repository to its end: exit status and both streams.</summary>
    public static (int Code, string Output) RunScript(string script, params string[] args) => RunScript(Repository.Root, script, args);

    private static (int Code, string Output) RunScript(string tree, string script, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(Path.Join(tree, script), args, s_timeout);
        return (code, output + error);
    }

    private static void Build(string tree, string folder, string version)
    {
        (int code, string output) = RunScript(tree, "packaging/build-packages.sh", "--output", folder, "--version", version);
        if (code != 0)
            throw new InvalidOperationException($"packaging/build-packages.sh --version {version} failed ({code}):\n{output}");
    }

    /// <summary>
    /// What build-packages.sh reads, copied (the binaries and the build's restore linked), with the
    /// next release's changes. Its packages carry the commit's time, as the release's do.
    /// </summary>
    private string ChangedTree()
    {
        string tree = Path.Join(_folder, "next-tree");
        foreach (string folder in new[] { "packaging", "contrib" })
            CopyFolder(Path.Join(Repository.Root, folder), Path.Join(tree, folder));
        foreach (string file in new[] { "VERSION", "README.md", "LICENSE" })
            File.Copy(Path.Join(Repository.Root, file), Path.Join(tree, file));
        Directory.CreateDirectory(Path.Join(tree, "artifacts", "linux-arm64"));
        Directory.CreateDirectory(Path.Join(tree, "artifacts", "build", "obj", "KvmStat"));
        foreach (string artifact in new[] { "kvm_stat", "kvm_stat.1", "completions", "linux-arm64/kvm_stat", "build/obj/KvmStat/project.assets.json" })
            File.CreateSymbolicLink(Path.Join(tree, "artifacts", artifact), Path.Join(Repository.Root, "artifacts", artifact));
        File.AppendAllText(Path.Join(tree, "contrib", "kvm_stat-exporter.service"), UpgradedUnitLine + "\n");
        File.AppendAllText(Path.Join(tree, "contrib", "kvm_stat.default"), UpgradedDefaultsLine + "\n");
        return tree;
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            string copy = Path.Join(to, Path.GetFileName(file));
            File.Copy(file, copy);
            File.SetUnixFileMode(copy, File.GetUnixFileMode(file));
        }
        foreach (string folder in Directory.EnumerateDirectories(from))
            CopyFolder(folder, Path.Join(to, Path.GetFileName(folder)));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

/// <summary>The package tests run one at a time and share one <see cref="PackageBuild"/>.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageCollection : ICollectionFixture<PackageBuild>
{
    public const string Name = "packages";
}
