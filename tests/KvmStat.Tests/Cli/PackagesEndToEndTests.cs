using System.Security.Cryptography;
using KvmStat.Tests.Architecture;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The release packages (packaging/): what each holds, that lintian and rpmlint find nothing in
/// them beyond the overrides with reasons, and the checksums of the release.
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
        "/lib/systemd/system/kvm_stat-exporter.service", "/etc/logrotate.d/kvm-stat",
        "/usr/share/bash-completion/completions/kvm_stat", "/usr/share/zsh/vendor-completions/_kvm_stat",
        "/usr/share/fish/vendor_completions.d/kvm_stat.fish", "/usr/share/kvm-stat/kvm_stat.rules.yml",
        "/usr/share/kvm-stat/kvm_stat.rules.test.yml", "/usr/share/kvm-stat/kvm_stat.grafana.json",
        "/usr/share/doc/kvm-stat/copyright", "/usr/share/doc/kvm-stat/changelog.gz", "/usr/share/doc/kvm-stat/README.md.gz",
    ];

    private static readonly string[] s_rpmFiles =
    [
        "/usr/bin/kvm_stat", "/usr/share/man/man1/kvm_stat.1.gz", "/usr/lib/systemd/system/kvm_stat.service",
        "/usr/lib/systemd/system/kvm_stat-exporter.service", "/etc/logrotate.d/kvm-stat",
        "/usr/share/bash-completion/completions/kvm_stat", "/usr/share/zsh/site-functions/_kvm_stat",
        "/usr/share/fish/vendor_completions.d/kvm_stat.fish", "/usr/share/kvm-stat/kvm_stat.rules.yml",
        "/usr/share/kvm-stat/kvm_stat.rules.test.yml", "/usr/share/kvm-stat/kvm_stat.grafana.json",
        "/usr/share/licenses/kvm-stat/copyright", "/usr/share/doc/kvm-stat/README.md",
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
        Assert.Equal("/etc/logrotate.d/kvm-stat", Run("dpkg-deb", "--info", deb, "conffiles").Output.Trim());
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
        Assert.Equal("1", files["/etc/logrotate.d/kvm-stat"][7]);
        Assert.Equal($"{packages.Version} 1 {arch} GPL-2.0-only",
            Run("rpm", "-qp", "--queryformat", "%{VERSION} %{RELEASE} %{ARCH} %{LICENSE}", rpm).Output.Split('\n').Last(l => l.Length > 0));
        // RHEL's and Fedora's kernel-tools holds the kernel's kvm_stat at the same path.
        Assert.Contains("kernel-tools", Run("rpm", "-qp", "--conflicts", rpm).Output.Split('\n'));
    }

    /// <summary>The units of both formats are contrib's, pointing at the packaged binary.</summary>
    [Fact]
    public void TheUnitsAreContribsWithThePackagedBinary()
    {
        foreach (string unit in new[] { "kvm_stat.service", "kvm_stat-exporter.service" })
        {
            string expected = File.ReadAllText(Path.Join(Repository.Root, "contrib", unit)).Replace("/usr/local/bin/kvm_stat", "/usr/bin/kvm_stat");
            Assert.Contains("ExecStart=/usr/bin/kvm_stat ", expected);
            // The text of a child's output comes as lines: without the last newline.
            Assert.Equal(expected.TrimEnd('\n'), Extract(packages.Deb(packages.Release, "amd64"), $"/lib/systemd/system/{unit}"));
            Assert.Equal(expected.TrimEnd('\n'), Extract(packages.Rpm(packages.Release, "x86_64"), $"/usr/lib/systemd/system/{unit}"));
        }
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
