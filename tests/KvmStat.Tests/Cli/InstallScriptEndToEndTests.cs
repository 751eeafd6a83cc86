using KvmStat.Tests.Architecture;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// install.sh, for hosts without the packages, into a --destdir: what it installs, that installing
/// again keeps the operator's configuration files, and that --uninstall takes everything away but
/// a configuration file the operator changed (before the packages are installed, README says).
/// </summary>
public class InstallScriptEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(1);

    private static readonly string[] s_installed =
    [
        "etc/default/kvm-stat", "etc/logrotate.d/kvm-stat", "etc/systemd/system/kvm_stat-exporter.service", "etc/systemd/system/kvm_stat.service",
        "opt/kvm/bin/kvm_stat", "opt/kvm/share/bash-completion/completions/kvm_stat", "opt/kvm/share/fish/vendor_completions.d/kvm_stat.fish",
        "opt/kvm/share/man/man1/kvm_stat.1", "opt/kvm/share/zsh/site-functions/_kvm_stat",
    ];

    private static (int Code, string Output) Install(params string[] args)
    {
        (int code, string output, string error) = ChildProcess.Run(Path.Join(Repository.Root, "install.sh"), args, s_timeout);
        return (code, output + error);
    }

    private static string[] Files(string root) =>
        [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void InstallsKeepsTheOperatorsFilesAndUninstalls()
    {
        string root = Directory.CreateTempSubdirectory("kvm_stat-install-").FullName;
        try
        {
            (int code, string output) = Install("--prefix", "/opt/kvm", "--destdir", root);
            Assert.True(code == 0, output);
            Assert.Equal(s_installed, Files(root));
            Assert.Contains("ExecStart=/opt/kvm/bin/kvm_stat $KVM_STAT_EXPORTER_ARGS", File.ReadAllText(Path.Join(root, "etc/systemd/system/kvm_stat-exporter.service")));
            Assert.Equal(File.ReadAllText(Path.Join(Repository.Root, "contrib/kvm_stat.default")), File.ReadAllText(Path.Join(root, "etc/default/kvm-stat")));

            // The operator's arguments survive installing again, and uninstalling.
            string defaults = Path.Join(root, "etc/default/kvm-stat");
            File.WriteAllText(defaults, "KVM_STAT_EXPORTER_ARGS=\"--serve *:9576\"\n");
            (code, output) = Install("--prefix", "/opt/kvm", "--destdir", root);
            Assert.True(code == 0, output);
            Assert.Equal("KVM_STAT_EXPORTER_ARGS=\"--serve *:9576\"\n", File.ReadAllText(defaults));

            (code, output) = Install("--prefix", "/opt/kvm", "--destdir", root, "--uninstall");
            Assert.True(code == 0, output);
            Assert.Equal(["etc/default/kvm-stat"], Files(root));
            Assert.Contains("install.sh: kept /etc/default/kvm-stat: changed since installed", output);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
