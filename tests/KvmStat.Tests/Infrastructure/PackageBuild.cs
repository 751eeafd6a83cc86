using KvmStat.Tests.Architecture;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// The packages of the published binaries (packaging/build-packages.sh, as ./build.sh package runs
/// it), made once for the package tests: the release under the VERSION file's version, and the
/// same files under the next version, to upgrade to. Deleted when the tests are done.
/// </summary>
public sealed class PackageBuild : IDisposable
{
    /// <summary>
    /// The package tests install kvm-stat on this machine: ./test.sh runs them alone, as a suite of
    /// their own, never beside tests that expect no /usr/bin/kvm_stat.
    /// </summary>
    public const string Category = "Package";

    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-packages-").FullName;

    public PackageBuild()
    {
        Version = File.ReadAllText(Path.Join(Repository.Root, "VERSION")).Trim();
        string[] parts = Version.Split('.');
        parts[^1] = (int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        UpgradeVersion = string.Join('.', parts);
        try
        {
            Build(Release, Version);
            Build(Upgrade, UpgradeVersion);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The VERSION file's version, which the release packages carry.</summary>
    public string Version { get; }

    /// <summary>The next version (its last number one up), which the upgrade packages carry.</summary>
    public string UpgradeVersion { get; }

    public string Release => Path.Join(_folder, "release");

    public string Upgrade => Path.Join(_folder, "upgrade");

    /// <summary>kvm-stat_VERSION_ARCH.deb in <paramref name="folder"/> (Debian's architecture names).</summary>
    public string Deb(string folder, string arch) =>
        Path.Join(folder, $"kvm-stat_{(folder == Upgrade ? UpgradeVersion : Version)}_{arch}.deb");

    /// <summary>kvm-stat-VERSION-1.ARCH.rpm in <paramref name="folder"/> (RPM's architecture names).</summary>
    public string Rpm(string folder, string arch) =>
        Path.Join(folder, $"kvm-stat-{(folder == Upgrade ? UpgradeVersion : Version)}-1.{arch}.rpm");

    /// <summary>Runs a packaging script of the repository to its end: exit status and both streams.</summary>
    public static (int Code, string Output) RunScript(string script, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(Path.Join(Repository.Root, script), args, s_timeout);
        return (code, output + error);
    }

    private static void Build(string folder, string version)
    {
        (int code, string output) = RunScript("packaging/build-packages.sh", "--output", folder, "--version", version);
        if (code != 0)
            throw new InvalidOperationException($"packaging/build-packages.sh --version {version} failed ({code}):\n{output}");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

/// <summary>The package tests run one at a time and share one <see cref="PackageBuild"/>.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageCollection : ICollectionFixture<PackageBuild>
{
    public const string Name = "packages";
}
