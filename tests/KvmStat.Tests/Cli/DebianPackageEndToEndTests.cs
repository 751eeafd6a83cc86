using System.Diagnostics;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The .deb on this machine, as an operator uses it: dpkg installs it (nothing enabled or started),
/// the installed tool runs, its units verify, an upgrade keeps the operator's changes, and removing
/// then purging leaves nothing behind. Whatever happens, the package is purged at the end.
/// </summary>
[Trait("Category", PackageBuild.Category)]
[Collection(PackageCollection.Name)]
public class DebianPackageEndToEndTests(PackageBuild packages)
{
    private const string Conffile = "/etc/logrotate.d/kvm-stat";
    private const string Defaults = "/etc/default/kvm-stat";
    private const string OperatorLine = "# changed by the operator";
    private const string ExporterUnit = "/lib/systemd/system/kvm_stat-exporter.service";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);
    private static readonly string[] s_units = ["kvm_stat.service", "kvm_stat-exporter.service"];

    private static (int Code, string Output) Run(string file, params string[] args) => Run(file, null, args);

    private static (int Code, string Output) Run(string file, IDictionary<string, string>? environment, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(file, args, s_timeout, environment: environment);
        return (code, output + error);
    }

    /// <summary>dpkg, waiting while another dpkg or apt holds its lock (other work on this machine may).</summary>
    private static (int Code, string Output) Dpkg(params string[] args)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            (int code, string output) = Run("dpkg", args);
            if (code == 0 || !output.Contains("lock", StringComparison.Ordinal) || clock.Elapsed > s_timeout)
                return (code, output);
            Thread.Sleep(1000);
        }
    }

    private static string Status() =>
        Run("dpkg-query", "--show", "--showformat", "${db:Status-Abbrev}${Version}", "kvm-stat").Output.Trim();

    private static bool Installed() => !Status().Contains("no packages found", StringComparison.Ordinal) && !Status().StartsWith("un", StringComparison.Ordinal);

    [Fact]
    public void InstallsUpgradesRemovesAndPurgesLeavingNothing()
    {
        Assert.SkipUnless(Environment.UserName == "root", "installing a package needs root (./test.sh runs as root)");
        Assert.SkipUnless(File.Exists("/usr/bin/dpkg"), "dpkg is not installed");
        Assert.False(Installed(), $"kvm-stat is installed on this machine ({Status()}): this test installs and purges it; remove it first (dpkg --purge kvm-stat)");
        Assert.False(File.Exists("/usr/bin/kvm_stat"), "/usr/bin/kvm_stat exists: this test installs the package there; remove it first");
        Assert.False(Path.Exists("/var/log/kvm_stat"), "/var/log/kvm_stat exists: this test makes and expects to purge one");
        Assert.False(Path.Exists(Defaults), $"{Defaults} exists (./install.sh's?): this test installs the package's; remove it first");
        string deb = packages.Deb(packages.Release, "amd64");
        string[] paths = PackagePaths(deb);
        HashSet<string> existedBefore = [.. paths.Where(Path.Exists)];
        HostState before = HostState.Take();
        bool hadPrivateLogs = Directory.Exists("/var/log/private");
        try
        {
            (int code, string output) = Dpkg("--install", deb);
            Assert.True(code == 0, output);
            Assert.Equal($"ii {packages.Version}", Status());
            CheckTheInstalledTool();
            CheckTheUnitsAreInstalledNotEnabled();
            CheckTheCompletionsAreFound();
            CheckUpgradeKeepsTheOperatorsChanges();
            RemoveThenPurge();

            string[] left = [.. paths.Where(p => !existedBefore.Contains(p) && Path.Exists(p))];
            Assert.True(left.Length == 0, "left after purge: " + string.Join(", ", left));
            Assert.False(Path.Exists(Conffile));
            Assert.False(Path.Exists(Defaults) || Path.Exists(Defaults + ".dpkg-dist"), "purge removes the conffile and the copy dpkg put beside it");
            Assert.False(Path.Exists("/var/log/kvm_stat") || Path.Exists("/var/log/private/kvm_stat"), "purge removes the CSV logs");
            HostState.Take().AssertSameAs(before);
        }
        finally
        {
            if (Installed())
                Dpkg("--purge", "kvm-stat");
            if (new FileInfo("/var/log/kvm_stat").LinkTarget is not null)
                File.Delete("/var/log/kvm_stat");
            if (Directory.Exists("/var/log/private/kvm_stat"))
                Directory.Delete("/var/log/private/kvm_stat", recursive: true);
            if (!hadPrivateLogs && Directory.Exists("/var/log/private"))
                Directory.Delete("/var/log/private");
        }
    }

    /// <summary>Every path the package holds ("./usr/bin/kvm_stat" as "/usr/bin/kvm_stat").</summary>
    private static string[] PackagePaths(string deb)
    {
        (int code, string listing) = Run("dpkg-deb", "--contents", deb);
        Assert.True(code == 0, listing);
        return [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5][1..].TrimEnd('/'))
            .Where(p => p.Length > 0)];
    }

    /// <summary>The installed binary is this release, counts (-1 over a fixture debugfs), diagnoses, and has its manual.</summary>
    private void CheckTheInstalledTool()
    {
        (int code, string version) = Run("/usr/bin/kvm_stat", "--version");
        Assert.Equal(0, code);
        Assert.Equal(ChildProcess.RunTool(s_timeout, "--version").Output, version);
        Assert.StartsWith($"kvm_stat {packages.Version} (commit ", version);

        using (var fixture = new FixtureRoot())
        {
            fixture.AddDebugfsStat("exits", 0);
            fixture.AddDebugfsStat("7-1/exits", 0);
            (code, string sample) = Run("/usr/bin/kvm_stat", new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root }, "-1", "-d");
            Assert.True(code == 0, sample);
            Assert.Matches(@"^exits\s+0\s+0$", sample.Trim());
        }
        // On this host as it is: a sample, or (without KVM's tracepoints) one or two plain lines naming the cause.
        (code, string host) = Run("/usr/bin/kvm_stat", "-1");
        Assert.True(code == 0 || (code == 1 && host.Trim().Split('\n').All(l => l.StartsWith("kvm_stat: ", StringComparison.Ordinal))), host);

        (code, string doctor) = Run("/usr/bin/kvm_stat", "--doctor");
        Assert.True(code is 0 or 1, doctor);
        Assert.Matches(@"^ok\s+privileges\s+running as root", doctor);

        // MANWIDTH other than 80: man-db keeps no formatted copy in /var/cache/man for the test to leave behind.
        (code, string manual) = Run("man", new Dictionary<string, string> { ["MANWIDTH"] = "100", ["MANPAGER"] = "cat", ["LANG"] = "C.UTF-8" }, "kvm_stat");
        Assert.True(code == 0, manual);
        Assert.StartsWith("KVM_STAT(1)", manual.TrimStart());
        Assert.Contains("--doctor", manual);
        Assert.Equal("/usr/share/man/man1/kvm_stat.1.gz", Run("man", "--where", "kvm_stat").Output.Trim());
    }

    private static void CheckTheUnitsAreInstalledNotEnabled()
    {
        string[] files = [.. s_units.Select(u => $"/lib/systemd/system/{u}")];
        (int code, string output) = Run("systemd-analyze", ["verify", "--man=no", .. files]);
        Assert.True(code == 0, $"systemd-analyze verify: {output}");
        // Their arguments are the conffile's.
        Assert.All(files, f => Assert.Contains("\nEnvironmentFile=-/etc/default/kvm-stat\n", File.ReadAllText(f)));
        Assert.Contains("KVM_STAT_EXPORTER_ARGS=\"--serve 127.0.0.1:9576\"", File.ReadAllLines(Defaults));
        foreach (string unit in s_units)
            Assert.Equal("disabled", Run("systemctl", "is-enabled", unit).Output.Trim());
        // Nothing started either: no process runs the installed binary.
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(d => new FileInfo(Path.Join(d, "exe"))),
            exe => { try { return exe.LinkTarget == "/usr/bin/kvm_stat"; } catch (IOException) { return false; } catch (UnauthorizedAccessException) { return false; } });
    }

    /// <summary>Each shell finds the installed completions where it looks by default.</summary>
    private static void CheckTheCompletionsAreFound()
    {
        (int code, string bash) = Run("/bin/bash", "--norc", "--noprofile", "-c",
            ". /usr/share/bash-completion/bash_completion; _completion_loader kvm_stat; complete -p kvm_stat; " +
            "COMP_WORDS=(kvm_stat --vers); COMP_CWORD=1; _kvm_stat kvm_stat --vers kvm_stat; echo \"${COMPREPLY[*]}\"");
        Assert.True(code == 0, bash);
        Assert.Equal("complete -F _kvm_stat kvm_stat\n--version", bash.Trim());
        (code, string zsh) = Run("/usr/bin/zsh", "-f", "-c", "autoload -U compinit; compinit -u -D; print -r -- $_comps[kvm_stat]");
        Assert.True(code == 0, zsh);
        Assert.Equal("_kvm_stat", zsh.Trim());
        // fish's own configuration adds the vendor folders to the completion path: no --no-config here,
        // and an empty home, so that no user's configuration takes part.
        string home = Directory.CreateTempSubdirectory("kvm_stat-home-").FullName;
        (code, string fish) = Run("/usr/bin/fish", new Dictionary<string, string> { ["HOME"] = home, ["XDG_CONFIG_HOME"] = home, ["XDG_DATA_HOME"] = home },
            "-c", "complete -C'kvm_stat --vers'");
        Directory.Delete(home, recursive: true);
        Assert.True(code == 0, fish);
        Assert.StartsWith("--version\t", fish);
    }

    /// <summary>
    /// The operator edits both conffiles and enables the exporter; the next version changed the
    /// exporter's unit and the arguments' file. The upgrade (answering dpkg's question as apt's
    /// --force-confold does) replaces the unit, keeps both of the operator's files, and puts the
    /// package's new arguments' file beside the operator's as .dpkg-dist; the logrotate file, which
    /// the package did not change, gets none. The exporter stays enabled.
    /// </summary>
    private void CheckUpgradeKeepsTheOperatorsChanges()
    {
        (int code, string conffiles) = Run("dpkg-query", "--show", "--showformat", "${Conffiles}\n", "kvm-stat");
        Assert.Equal([Defaults, Conffile], conffiles.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')[0]));
        File.AppendAllText(Conffile, OperatorLine + "\n");
        File.WriteAllText(Defaults, File.ReadAllText(Defaults).Replace("--serve 127.0.0.1:9576", "--serve *:9576") + OperatorLine + "\n");
        string operatorsDefaults = File.ReadAllText(Defaults);
        (code, string output) = Run("systemctl", "enable", "kvm_stat-exporter.service");
        Assert.True(code == 0, output);
        Assert.DoesNotContain(PackageBuild.UpgradedUnitLine, File.ReadAllText(ExporterUnit));

        (code, output) = Dpkg("--install", "--force-confdef", "--force-confold", packages.Deb(packages.Upgrade, "amd64"));
        Assert.True(code == 0, output);
        Assert.Equal($"ii {packages.UpgradeVersion}", Status());
        Assert.EndsWith(PackageBuild.UpgradedUnitLine + "\n", File.ReadAllText(ExporterUnit));
        Assert.EndsWith(OperatorLine + "\n", File.ReadAllText(Conffile));
        Assert.False(File.Exists(Conffile + ".dpkg-dist"), "the package did not change the logrotate file: nothing to put beside it");
        Assert.Equal(operatorsDefaults, File.ReadAllText(Defaults));
        Assert.EndsWith(PackageBuild.UpgradedDefaultsLine + "\n", File.ReadAllText(Defaults + ".dpkg-dist"));
        Assert.Contains("KVM_STAT_EXPORTER_ARGS=\"--serve 127.0.0.1:9576\"", File.ReadAllLines(Defaults + ".dpkg-dist"));
        // Every other file is the new package's: dpkg --verify flags only the edited conffiles.
        Assert.Equal([$"??5?????? c {Defaults}", $"??5?????? c {Conffile}"],
            Run("dpkg", "--verify", "kvm-stat").Output.Trim().Split('\n').Order(StringComparer.Ordinal));
        Assert.Equal("enabled", Run("systemctl", "is-enabled", "kvm_stat-exporter.service").Output.Trim());
        Assert.Equal("disabled", Run("systemctl", "is-enabled", "kvm_stat.service").Output.Trim());
    }

    /// <summary>Remove keeps the conffile and the logs; purge takes them, with the units' state.</summary>
    private static void RemoveThenPurge()
    {
        // What kvm_stat.service leaves: systemd keeps a dynamic user's LogsDirectory= under /var/log/private.
        Directory.CreateDirectory("/var/log/private/kvm_stat");
        File.WriteAllText("/var/log/private/kvm_stat/kvm_stat.csv", "timestamp,exits\n");
        File.CreateSymbolicLink("/var/log/kvm_stat", "private/kvm_stat");

        (int code, string output) = Dpkg("--remove", "kvm-stat");
        Assert.True(code == 0, output);
        Assert.StartsWith("rc ", Status());
        Assert.False(File.Exists("/usr/bin/kvm_stat"));
        Assert.True(File.Exists(Conffile), "remove keeps the conffile");
        Assert.True(File.Exists("/var/log/kvm_stat/kvm_stat.csv"), "remove keeps the logs");

        (code, output) = Dpkg("--purge", "kvm-stat");
        Assert.True(code == 0, output);
        Assert.False(Installed(), Status());
    }
}
