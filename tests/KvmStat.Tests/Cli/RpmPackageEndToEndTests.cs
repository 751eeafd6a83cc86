using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The .rpm installed into a scratch root with rpm --root (this machine is Debian): installed with
/// its scriptlets run (the root has a /bin/sh), the installed tool run, its manual page rendered
/// and its units verified against the root; upgraded with the operator's configuration files kept;
/// erased with nothing left but rpm's copies of them.
/// </summary>
[Trait("Category", PackageBuild.Category)]
[Collection(PackageCollection.Name)]
public class RpmPackageEndToEndTests(PackageBuild packages)
{
    private const string Conffile = "etc/logrotate.d/kvm-stat";
    private const string Defaults = "etc/sysconfig/kvm-stat";
    private const string ExporterUnit = "usr/lib/systemd/system/kvm_stat-exporter.service";
    private const string OperatorLine = "# changed by the operator";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private static (int Code, string Output) Run(string file, params string[] args) => Run(file, null, args);

    private static (int Code, string Output) Run(string file, IDictionary<string, string>? environment, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(file, args, s_timeout, environment: environment);
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
            ProvideWhatUnitsNeed(root);
            (int code, string output) = Run("rpm", "--root", root, "--initdb");
            Assert.True(code == 0, output);
            string[] before = Tree(root);

            // --nodeps: the scratch root's database has no glibc or logrotate to satisfy Requires.
            (code, output) = Run("rpm", "--root", root, "--install", "--nodeps", packages.Rpm(packages.Release, "x86_64"));
            Assert.True(code == 0 && output.Trim().Length == 0, output);
            CheckInstalled(root, packages.Version);
            CheckTheInstalledTool(root);
            CheckTheUnits(root);

            CheckUpgradeKeepsTheOperatorsChanges(root);

            (code, output) = Run("rpm", "--root", root, "--erase", "kvm-stat");
            Assert.True(code == 0, output);
            Assert.Equal([$"warning: /{Conffile} saved as /{Conffile}.rpmsave", $"warning: /{Defaults} saved as /{Defaults}.rpmsave"],
                output.Trim().Split('\n').Order(StringComparer.Ordinal));
            Assert.Contains("is not installed", Run("rpm", "--root", root, "--query", "kvm-stat").Output);
            // rpm keeps an edited configuration file as .rpmsave, and leaves the .rpmnew it wrote;
            // nothing else of the package is left. The folders it made for its files stay: on a real
            // system other packages own them (filesystem, systemd, the shells), here nothing does.
            string[] left = [.. Tree(root).Except(before)];
            Assert.Equal([$"{Conffile}.rpmsave", $"{Defaults}.rpmnew", $"{Defaults}.rpmsave"],
                left.Where(p => p.Contains("kvm", StringComparison.Ordinal) && !Directory.Exists(Path.Join(root, p))).Order(StringComparer.Ordinal));
            Assert.All(left.Where(p => !p.Contains(".rpm", StringComparison.Ordinal)), p => Assert.True(Directory.Exists(Path.Join(root, p)), p));
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
        Assert.Equal([$"/{Conffile}", $"/{Defaults}"], Run("rpm", "--root", root, "--query", "--configfiles", "kvm-stat").Output.Trim().Split('\n'));
        // The scriptlets ran and enabled nothing (without systemd's update helper they do nothing at all).
        Assert.False(Directory.Exists(Path.Join(root, "etc/systemd")), "installing enables no unit");
    }

    /// <summary>The installed binary is this release, counts (-1 over a fixture debugfs), diagnoses, and has its manual.</summary>
    private void CheckTheInstalledTool(string root)
    {
        string binary = Path.Join(root, "usr/bin/kvm_stat");
        (int code, string version) = Run(binary, "--version");
        Assert.Equal(0, code);
        Assert.Equal(ChildProcess.RunTool(s_timeout, "--version").Output, version);
        Assert.StartsWith($"kvm_stat {packages.Version} (commit ", version);

        using (var fixture = new FixtureRoot())
        {
            fixture.AddDebugfsStat("exits", 0);
            fixture.AddDebugfsStat("7-1/exits", 0);
            (code, string sample) = Run(binary, new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root }, "-1", "-d");
            Assert.True(code == 0, sample);
            Assert.Matches(@"^exits\s+0\s+0$", sample.Trim());
        }
        (code, string doctor) = Run(binary, "--doctor");
        Assert.True(code is 0 or 1, doctor);
        Assert.Matches(@"^ok\s+privileges\s+running as root", doctor);

        // man -l renders the installed page itself (and keeps no formatted copy of it).
        (code, string manual) = Run("man", new Dictionary<string, string> { ["MANWIDTH"] = "100", ["MANPAGER"] = "cat", ["LANG"] = "C.UTF-8" },
            "-l", Path.Join(root, "usr/share/man/man1/kvm_stat.1.gz"));
        Assert.True(code == 0, manual);
        Assert.StartsWith("KVM_STAT(1)", manual.TrimStart());
        Assert.Contains("--doctor", manual);
        Assert.Contains("/etc/sysconfig/kvm-stat", manual);
    }

    /// <summary>The units verify in the root they are installed in (their binary is the root's), and read the RPM's arguments' file.</summary>
    private static void CheckTheUnits(string root)
    {
        string[] units = [.. new[] { "kvm_stat.service", "kvm_stat-exporter.service" }.Select(u => Path.Join(root, "usr/lib/systemd/system", u))];
        (int code, string output) = Run("systemd-analyze", ["verify", "--man=no", $"--root={root}", .. units]);
        Assert.True(code == 0, $"systemd-analyze verify: {output}");
        Assert.All(units, u => Assert.Contains("\nEnvironmentFile=-/etc/sysconfig/kvm-stat\n", File.ReadAllText(u)));
    }

    /// <summary>
    /// The operator edits both configuration files; the next version changed the exporter's unit
    /// and the arguments' file. The upgrade replaces the unit, keeps both of the operator's files,
    /// and writes the package's new arguments' file as .rpmnew (none for the logrotate file, which
    /// the package did not change).
    /// </summary>
    private void CheckUpgradeKeepsTheOperatorsChanges(string root)
    {
        File.AppendAllText(Path.Join(root, Conffile), OperatorLine + "\n");
        File.AppendAllText(Path.Join(root, Defaults), OperatorLine + "\n");
        string operatorsDefaults = File.ReadAllText(Path.Join(root, Defaults));
        Assert.DoesNotContain(PackageBuild.UpgradedUnitLine, File.ReadAllText(Path.Join(root, ExporterUnit)));

        (int code, string output) = Run("rpm", "--root", root, "--upgrade", "--nodeps", packages.Rpm(packages.Upgrade, "x86_64"));
        Assert.True(code == 0, output);
        Assert.Equal($"warning: /{Defaults} created as /{Defaults}.rpmnew", output.Trim());
        Assert.Equal($"kvm-stat-{packages.UpgradeVersion}-1.x86_64", Run("rpm", "--root", root, "--query", "kvm-stat").Output.Trim());
        Assert.EndsWith(PackageBuild.UpgradedUnitLine + "\n", File.ReadAllText(Path.Join(root, ExporterUnit)));
        Assert.EndsWith(OperatorLine + "\n", File.ReadAllText(Path.Join(root, Conffile)));
        Assert.False(File.Exists(Path.Join(root, Conffile + ".rpmnew")), "the package's logrotate file did not change: nothing to set beside it");
        Assert.Equal(operatorsDefaults, File.ReadAllText(Path.Join(root, Defaults)));
        Assert.EndsWith(PackageBuild.UpgradedDefaultsLine + "\n", File.ReadAllText(Path.Join(root, Defaults + ".rpmnew")));
        // Every file is the new package's but the edited configuration files.
        (code, output) = Run("rpm", "--root", root, "--verify", "--nodeps", "kvm-stat");
        string[] findings = output.Trim().Split('\n');
        Assert.Equal(2, findings.Length);
        Assert.Matches($@"^S\.5\.\.\.\.T\.\s+c /{Conffile}$", findings[0]);
        Assert.Matches($@"^S\.5\.\.\.\.T\.\s+c /{Defaults}$", findings[1]);
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

    /// <summary>
    /// What systemd-analyze verify looks for in the root besides the units: the targets they are
    /// ordered after and installed into (with systemd's default dependencies), and the kill of ExecReload.
    /// </summary>
    private static void ProvideWhatUnitsNeed(string root)
    {
        string units = Path.Join(root, "usr/lib/systemd/system");
        Directory.CreateDirectory(units);
        foreach (string target in Directory.EnumerateFiles("/lib/systemd/system", "*.target"))
            File.Copy(target, Path.Join(units, Path.GetFileName(target)));
        File.Copy("/bin/kill", Path.Join(root, "bin/kill"));
    }

    /// <summary>Every path under the root, relative to it, but rpm's own database.</summary>
    private static string[] Tree(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => !p.StartsWith("var/lib/rpm", StringComparison.Ordinal) && p != "var/lib" && p != "var" && !p.StartsWith("usr/lib/sysimage", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
}
