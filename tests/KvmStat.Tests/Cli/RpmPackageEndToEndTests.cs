using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The .rpm installed into a scratch root with rpm --root (this machine is Debian): installed with
/// its scriptlets run (the root has a /bin/sh), upgraded with the operator's conffile kept, erased
/// with nothing left but rpm's copy of the edited conffile.
/// </summary>
[Trait("Category", PackageBuild.Category)]
[Collection(PackageCollection.Name)]
public class RpmPackageEndToEndTests(PackageBuild packages)
{
    private const string Conffile = "etc/logrotate.d/kvm-stat";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(file, args, s_timeout);
        // Debian's rpm says so on every run; it is not a finding.
        return (code, output + string.Join('\n', error.Split('\n').Where(l => !l.StartsWith("rpm: ", StringComparison.Ordinal))));
    }

    [Fact]
    public void InstallsUpgradesAndErasesInAScratchRoot()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/rpm"), "rpm is not installed (./test.sh installs it)");
        string root = Directory.CreateTempSubdirectory("kvm_stat-rpmroot-").FullName;
        try
        {
            ProvideAShell(root);
            (int code, string output) = Run("rpm", "--root", root, "--initdb");
            Assert.True(code == 0, output);
            string[] before = Tree(root);

            // --nodeps: the scratch root's database has no glibc or logrotate to satisfy Requires.
            (code, output) = Run("rpm", "--root", root, "--install", "--nodeps", packages.Rpm(packages.Release, "x86_64"));
            Assert.True(code == 0 && output.Trim().Length == 0, output);
            CheckInstalled(root, packages.Version);

            File.AppendAllText(Path.Join(root, Conffile), "# changed by the operator\n");
            (code, output) = Run("rpm", "--root", root, "--upgrade", "--nodeps", packages.Rpm(packages.Upgrade, "x86_64"));
            Assert.True(code == 0 && output.Trim().Length == 0, output);
            Assert.Equal($"kvm-stat-{packages.UpgradeVersion}-1.x86_64", Run("rpm", "--root", root, "--query", "kvm-stat").Output.Trim());
            Assert.EndsWith("# changed by the operator\n", File.ReadAllText(Path.Join(root, Conffile)));
            Assert.False(File.Exists(Path.Join(root, Conffile + ".rpmnew")), "the package's conffile did not change: nothing to set beside it");
            // Every file is the new package's but the edited conffile.
            (code, output) = Run("rpm", "--root", root, "--verify", "--nodeps", "kvm-stat");
            Assert.Matches($@"^S\.5\.\.\.\.T\.\s+c /{Conffile}$", output.Trim());

            (code, output) = Run("rpm", "--root", root, "--erase", "kvm-stat");
            Assert.True(code == 0, output);
            Assert.Equal($"warning: /{Conffile} saved as /{Conffile}.rpmsave", output.Trim());
            Assert.Contains("is not installed", Run("rpm", "--root", root, "--query", "kvm-stat").Output);
            // rpm keeps an edited conffile as .rpmsave; nothing else of the package is left. The
            // folders it made for its files stay: on a real system other packages own them
            // (filesystem, systemd, the shells), here nothing does.
            string[] left = [.. Tree(root).Except(before)];
            Assert.True(left.Where(p => p.Contains("kvm", StringComparison.Ordinal)).SequenceEqual([$"{Conffile}.rpmsave"]),
                "left after erase: " + string.Join(", ", left));
            Assert.All(left.Where(p => !p.EndsWith(".rpmsave", StringComparison.Ordinal)), p => Assert.True(Directory.Exists(Path.Join(root, p)), p));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void CheckInstalled(string root, string version)
    {
        Assert.Equal($"kvm-stat-{version}-1.x86_64", Run("rpm", "--root", root, "--query", "kvm-stat").Output.Trim());
        (int code, string output) = Run("rpm", "--root", root, "--verify", "--nodeps", "kvm-stat");
        Assert.True(code == 0 && output.Trim().Length == 0, output);
        Assert.Equal($"/{Conffile}", Run("rpm", "--root", root, "--query", "--configfiles", "kvm-stat").Output.Trim());
        (code, output) = Run(Path.Join(root, "usr/bin/kvm_stat"), "--version");
        Assert.StartsWith($"kvm_stat {version} (commit ", output);
        Assert.True(File.Exists(Path.Join(root, "usr/lib/systemd/system/kvm_stat-exporter.service")));
        // The scriptlets ran and enabled nothing (without systemd's update helper they do nothing at all).
        Assert.False(Directory.Exists(Path.Join(root, "etc/systemd")), "installing enables no unit");
    }

    /// <summary>A /bin/sh for the scriptlets, which rpm runs chrooted into the root: dash and the libraries it loads.</summary>
    private static void ProvideAShell(string root)
    {
        Directory.CreateDirectory(Path.Join(root, "bin"));
        File.Copy("/bin/dash", Path.Join(root, "bin/sh"));
        (int code, string libraries) = Run("ldd", "/bin/dash");
        Assert.True(code == 0, libraries);
        foreach (string library in libraries.Split((char[])[' ', '\t', '\n']).Where(w => w.StartsWith('/')))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(root, library))!);
            File.Copy(library, Path.Join(root, library));
        }
    }

    /// <summary>Every path under the root, relative to it, but rpm's own database.</summary>
    private static string[] Tree(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => !p.StartsWith("var/lib/rpm", StringComparison.Ordinal) && p != "var/lib" && p != "var" && !p.StartsWith("usr/lib/sysimage", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
}
