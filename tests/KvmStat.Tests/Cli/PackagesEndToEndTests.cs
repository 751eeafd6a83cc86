using System.Security.Cryptography;
using KvmStat.Tests.Architecture;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The release packages (packaging/): what each holds, that lintian and rpmlint find nothing in
/// them beyond the overrides with reasons, the checksums of the release, that the same binaries
/// make the same bytes, and that packages relabelled for an upgrade rehearsal stay out of the release.
/// </summary>
[Trait("Category", PackageBuild.Category)]
[Collection(PackageCollection.Name)]
public class PackagesEndToEndTests(PackageBuild packages)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    /// <summary>What every package installs besides the binary, as Debian and Fedora place it.</summary>
    private static readonly string[] s_debFiles =
    [
        "/usr/bin/kvm_stat", "/usr/share/man/man1/kvm_stat.1.gz", "/lib/systemd/system/kvm_stat.service",
        "/lib/systemd/system/kvm_stat-exporter.service", "/etc/default/kvm-stat", "/etc/logrotate.d/kvm-stat",
        "/usr/share/bash-completion/completions/kvm_stat", "/usr/share/zsh/vendor-completions/_kvm_stat",
        "/usr/share/fish/vendor_completions.d/kvm_stat.fish", "/usr/share/kvm-stat/kvm_stat.rules.yml",
        "/usr/share/kvm-stat/kvm_stat.rules.test.yml", "/usr/share/kvm-stat/kvm_stat.grafana.json",
        "/usr/share/doc/kvm-stat/copyright", "/usr/share/doc/kvm-stat/changelog.gz", "/usr/share/doc/kvm-stat/README.md.gz",
    ];

    private static readonly string[] s_rpmFiles =
    [
        "/usr/bin/kvm_stat", "/usr/share/man/man1/kvm_stat.1.gz", "/usr/lib/systemd/system/kvm_stat.service",
        "/usr/lib/systemd/system/kvm_stat-exporter.service", "/etc/sysconfig/kvm-stat", "/etc/logrotate.d/kvm-stat",
        "/usr/share/bash-completion/completions/kvm_stat", "/usr/share/zsh/site-functions/_kvm_stat",
        "/usr/share/fish/vendor_completions.d/kvm_stat.fish", "/usr/share/kvm-stat/kvm_stat.rules.yml",
        "/usr/share/kvm-stat/kvm_stat.rules.test.yml", "/usr/share/kvm-stat/kvm_stat.grafana.json",
        "/usr/share/licenses/kvm-stat/copyright", "/usr/share/licenses/kvm-stat/LICENSE", "/usr/share/doc/kvm-stat/README.md",
    ];

    /// <summary>What the NativeAOT binary bundles: the RPM's bundled(...) name, and the NuGet package that brings it.</summary>
    private static readonly (string Bundled, string Package)[] s_bundled =
    [
        ("dotnet-runtime", "Microsoft.DotNet.ILCompiler"), ("aspnetcore-runtime", "Microsoft.AspNetCore.App.Runtime"),
        ("nuget(System.CommandLine)", "System.CommandLine"), ("nuget(BCrypt.Net-Next)", "BCrypt.Net-Next"), ("nuget(YamlDotNet)", "YamlDotNet"),
    ];

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(file, args, s_timeout);
        return (code, output + error);
    }

    private static string Artifact(string arch) => arch is "amd64" or "x86_64"
        ? PublishedBinary.Path
        : Path.Join(Path.GetDirectoryName(PublishedBinary.Path)!, "linux-arm64", "kvm_stat");

    [Fact]
    public void TheReleaseIsFourPackagesAndTheirChecksums()
    {
        string[] names = [.. Directory.EnumerateFiles(packages.Release).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        string v = packages.Version;
        Assert.Equal(new[] { "SHA256SUMS", $"kvm-stat-{v}-1.aarch64.rpm", $"kvm-stat-{v}-1.x86_64.rpm", $"kvm-stat_{v}_amd64.deb", $"kvm-stat_{v}_arm64.deb" }
            .Order(StringComparer.Ordinal), names);
        string[] sums = File.ReadAllLines(Path.Join(packages.Release, "SHA256SUMS"));
        Assert.Equal(4, sums.Length);
        foreach (string line in sums)
        {
            string[] fields = line.Split("  ");
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Join(packages.Release, fields[1])))), fields[0]);
        }
    }

    [Fact]
    public void LintianAndRpmlintReportNothing()
    {
        (int code, string output) = PackageBuild.RunScript("packaging/lint.sh", packages.Release);
        Assert.True(code == 0, output);
        string[] verdicts = [.. output.Split('\n').Where(l => l.StartsWith("lint.sh: ", StringComparison.Ordinal))];
        Assert.Equal(4, verdicts.Length);
        Assert.All(verdicts, v => Assert.EndsWith(": no errors, no warnings", v));
    }

    [Theory]
    [InlineData("amd64")]
    [InlineData("arm64")]
    public void TheDebianPackageHoldsTheBinaryAndEverythingBeside(string arch)
    {
        string deb = packages.Deb(packages.Release, arch);
        (int code, string listing) = Run("dpkg-deb", "--contents", deb);
        Assert.True(code == 0, listing);
        HashSet<string> files = [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5][1..])];
        Assert.All(s_debFiles, f => Assert.Contains(f, files));

        Assert.Equal(packages.Version, Field(deb, "Version"));
        Assert.Equal(arch, Field(deb, "Architecture"));
        Assert.Equal("/etc/default/kvm-stat\n/etc/logrotate.d/kvm-stat", Run("dpkg-deb", "--info", deb, "conffiles").Output.Trim());
        // md5sums, which dpkg --verify checks, names the binary that ./build.sh made for this architecture.
        string[] md5sums = Run("dpkg-deb", "--info", deb, "md5sums").Output.Split('\n');
        Assert.Contains($"{Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(Artifact(arch))))}  usr/bin/kvm_stat", md5sums);
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("aarch64")]
    public void TheRpmPackageHoldsTheBinaryAndEverythingBeside(string arch)
    {
        string rpm = packages.Rpm(packages.Release, arch);
        (int code, string dump) = Run("rpm", "-qp", "--dump", rpm);
        Assert.True(code == 0, dump);
        // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink.
        Dictionary<string, string[]> files = dump.Split('\n').Where(l => l.StartsWith('/'))
            .Select(l => l.Split(' ')).ToDictionary(f => f[0]);
        Assert.All(s_rpmFiles, f => Assert.Contains(f, files.Keys));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Artifact(arch)))), files["/usr/bin/kvm_stat"][3]);
        // %config(noreplace): upgrades keep the operator's copy of both.
        Assert.Equal(["/etc/logrotate.d/kvm-stat", "/etc/sysconfig/kvm-stat"], Run("rpm", "-qp", "--configfiles", rpm).Output.Trim().Split('\n'));
        Assert.Equal($"{packages.Version} 1 {arch} GPL-2.0-only AND MIT",
            Run("rpm", "-qp", "--queryformat", "%{VERSION} %{RELEASE} %{ARCH} %{LICENSE}", rpm).Output.Split('\n').Last(l => l.Length > 0));
        // RHEL's and Fedora's kernel-tools holds the kernel's kvm_stat at the same path.
        Assert.Contains("kernel-tools", Run("rpm", "-qp", "--conflicts", rpm).Output.Split('\n'));

        // Each bundled component, at the version the build restored, with its licence text.
        string[] provides = Run("rpm", "-qp", "--provides", rpm).Output.Split('\n');
        foreach ((string bundled, string package) in s_bundled)
            Assert.Contains($"bundled({bundled}) = {RestoredVersion(package)}", provides);
        string[] licences = Run("rpm", "-qp", "--licensefiles", rpm).Output.Trim().Split('\n');
        string[] expected = ["/usr/share/licenses/kvm-stat/LICENSE", "/usr/share/licenses/kvm-stat/copyright",
            .. Directory.EnumerateFiles(Path.Join(Repository.Root, "packaging", "licenses"), "*.txt")
                .Select(f => $"/usr/share/licenses/kvm-stat/LICENSE.{Path.GetFileNameWithoutExtension(f)}")];
        Assert.Equal(expected.Order(StringComparer.Ordinal), licences.Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllText("/usr/share/common-licenses/GPL-2"), Extract(rpm, "/usr/share/licenses/kvm-stat/LICENSE") + "\n");
    }

    /// <summary>
    /// LICENSE is the GPL-2.0's text, and packaging/copyright (the .deb's, DEP-5) names each
    /// component the binary bundles, its copyright and licence: every package the build restored
    /// but the compiler's own tools, and the framework packs.
    /// </summary>
    [Fact]
    public void TheLicenceAndTheCopyrightFileNameEverythingTheBinaryHolds()
    {
        Assert.Equal(File.ReadAllText("/usr/share/common-licenses/GPL-2"), File.ReadAllText(Path.Join(Repository.Root, "LICENSE")));
        string[] paragraphs = File.ReadAllText(Path.Join(Repository.Root, "packaging", "copyright")).Split("\n\n");
        Assert.Contains("License: GPL-2", paragraphs[1].Split('\n'));
        Assert.Contains(" 2008-2011 Red Hat, Inc.", paragraphs[1].Split('\n'));
        string[] files = [.. paragraphs.Where(p => p.StartsWith("Files: ", StringComparison.Ordinal)).Skip(1)];
        string assets = File.ReadAllText(Path.Join(Repository.Root, "artifacts", "build", "obj", "KvmStat", "project.assets.json"));
        string[] restored = [.. System.Text.RegularExpressions.Regex.Matches(assets, @"^    ""([^""/]+)/[0-9.]+"": \{", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Where(p => !p.StartsWith("runtime.", StringComparison.Ordinal) && p != "Microsoft.NET.ILLink.Tasks")
            .Append("Microsoft.AspNetCore.App.Runtime")];
        Assert.Equal(s_bundled.Select(b => b.Package).Order(StringComparer.Ordinal), restored.Order(StringComparer.Ordinal));
        foreach (string package in restored)
        {
            string id = package == "Microsoft.DotNet.ILCompiler" ? "runtime.*.microsoft.dotnet.ilcompiler" : package.ToLowerInvariant();
            string paragraph = Assert.Single(files, p => p.Contains(id, StringComparison.Ordinal));
            Assert.Contains("\nLicense: Expat", paragraph);
            Assert.Matches(@"\nCopyright: \S", paragraph);
        }
        Assert.Single(paragraphs, p => p.StartsWith("License: Expat\n Permission is hereby granted", StringComparison.Ordinal));
    }

    /// <summary>The version of <paramref name="package"/> in the build's restore.</summary>
    private static string RestoredVersion(string package)
    {
        string assets = File.ReadAllText(Path.Join(Repository.Root, "artifacts", "build", "obj", "KvmStat", "project.assets.json"));
        var match = System.Text.RegularExpressions.Regex.Match(assets,
            $@"""{System.Text.RegularExpressions.Regex.Escape(package)}[^""]*(/|"",\s*""version"": ""\[)([0-9.]+)");
        Assert.True(match.Success, package);
        return match.Groups[2].Value;
    }

    /// <summary>
    /// The units of both formats are contrib's, pointing at the packaged binary and at each
    /// format's file of their arguments (/etc/default, /etc/sysconfig), which is contrib's too.
    /// </summary>
    [Fact]
    public void TheUnitsAreContribsWithThePackagedBinaryAndTheirArgumentsFile()
    {
        foreach (string unit in new[] { "kvm_stat.service", "kvm_stat-exporter.service" })
        {
            string expected = File.ReadAllText(Path.Join(Repository.Root, "contrib", unit)).Replace("/usr/local/bin/kvm_stat", "/usr/bin/kvm_stat");
            Assert.Contains("ExecStart=/usr/bin/kvm_stat ", expected);
            Assert.Contains("\nEnvironmentFile=-/etc/default/kvm-stat\n", expected);
            // The text of a child's output comes as lines: without the last newline.
            Assert.Equal(expected.TrimEnd('\n'), Extract(packages.Deb(packages.Release, "amd64"), $"/lib/systemd/system/{unit}"));
            Assert.Equal(expected.Replace("/etc/default/kvm-stat", "/etc/sysconfig/kvm-stat").TrimEnd('\n'),
                Extract(packages.Rpm(packages.Release, "x86_64"), $"/usr/lib/systemd/system/{unit}"));
        }
        string defaults = File.ReadAllText(Path.Join(Repository.Root, "contrib", "kvm_stat.default")).TrimEnd('\n');
        Assert.Equal(defaults, Extract(packages.Deb(packages.Release, "amd64"), "/etc/default/kvm-stat"));
        Assert.Equal(defaults, Extract(packages.Rpm(packages.Release, "x86_64"), "/etc/sysconfig/kvm-stat"));
    }

    /// <summary>
    /// The packages are reproducible: made again from the same binaries, every .deb and .rpm (and
    /// so SHA256SUMS) is the same, byte for byte.
    /// </summary>
    [Fact]
    public void TheSameBinariesMakeTheSamePackages()
    {
        string again = Directory.CreateTempSubdirectory("kvm_stat-packages-again-").FullName;
        try
        {
            (int code, string output) = PackageBuild.RunScript("packaging/build-packages.sh", "--output", again);
            Assert.True(code == 0, output);
            string[] names = [.. Directory.EnumerateFiles(packages.Release).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
            Assert.Equal(names, Directory.EnumerateFiles(again).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.All(names, name => Assert.True(File.ReadAllBytes(Path.Join(packages.Release, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Join(again, name))),
                $"{name} differs when made again"));
        }
        finally
        {
            Directory.Delete(again, recursive: true);
        }
    }

    /// <summary>
    /// --version relabels packages for an upgrade rehearsal: never into the release's folder, and
    /// their changelog says that the binary inside is the VERSION file's release.
    /// </summary>
    [Fact]
    public void RelabelledPackagesStayOutOfTheReleaseAndSaySo()
    {
        string releaseFolder = Path.Join(Repository.Root, "artifacts", "packages");
        string[] before = Directory.Exists(releaseFolder) ? [.. Directory.EnumerateFiles(releaseFolder).Select(f => $"{f} {File.GetLastWriteTimeUtc(f):O}")] : [];
        (int code, string output) = PackageBuild.RunScript("packaging/build-packages.sh", "--version", "9.9.9");
        Assert.Equal(2, code);
        Assert.Equal($"build-packages.sh: --version 9.9.9 relabels release {packages.Version}: name a folder for them with --output DIR (not artifacts/packages)", output.Trim());
        (code, output) = PackageBuild.RunScript("packaging/build-packages.sh", "--version", "9.9.9", "--output", releaseFolder + "/");
        Assert.Equal(2, code);
        Assert.Contains("never go into artifacts/packages", output);
        string[] after = Directory.Exists(releaseFolder) ? [.. Directory.EnumerateFiles(releaseFolder).Select(f => $"{f} {File.GetLastWriteTimeUtc(f):O}")] : [];
        Assert.Equal(before, after);

        Assert.False(File.Exists(Path.Join(packages.Upgrade, "SHA256SUMS")), "relabelled packages are no release: no checksums beside them");
        (code, string changelog, string error) = ChildProcess.Run("/bin/sh",
            ["-c", $"dpkg-deb --fsys-tarfile '{packages.Deb(packages.Upgrade, "amd64")}' | tar -xO ./usr/share/doc/kvm-stat/changelog.gz | zcat"], s_timeout);
        Assert.True(code == 0, error);
        Assert.Contains($"relabelled {packages.UpgradeVersion} for an upgrade rehearsal: the binary is release {packages.Version}", string.Join(' ', changelog.Split((char[])['\n', ' '], StringSplitOptions.RemoveEmptyEntries)));
        Assert.Contains($"the binary is release {packages.Version}", Run("rpm", "-qp", "--changelog", packages.Rpm(packages.Upgrade, "x86_64")).Output);
    }

    /// <summary>One file of a package, as text.</summary>
    private static string Extract(string package, string path)
    {
        string command = package.EndsWith(".deb", StringComparison.Ordinal)
            ? $"dpkg-deb --fsys-tarfile '{package}' | tar -xO '.{path}'"
            : $"rpm2cpio '{package}' | cpio --quiet -i --to-stdout '.{path}'";
        (int code, string output, string error) = ChildProcess.Run("/bin/sh", ["-c", command], s_timeout);
        Assert.True(code == 0, error);
        return output;
    }

    private static string Field(string deb, string field) => Run("dpkg-deb", "--field", deb, field).Output.Trim();
}
