using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// Field names for a user who is not root: "-f help" finds none (tracefs and debugfs are root's),
/// so the completions ask "sudo -n", which never prompts. Here the shells run as user nobody (with
/// setpriv) over a fixture whose debugfs only root may read, and a sudo on PATH stands in for the
/// real one: it records how it was called and either runs the command over a readable fixture (no
/// password needed) or refuses as sudo does when it would need one.
/// </summary>
public sealed class CompletionSudoEndToEndTests : IDisposable
{
    private const string Nobody = "65534";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private const string FakeSudo = """
        #!/bin/sh
        printf '%s\n' "$*" >>"$FAKE_SUDO_LOG"
        [ "$1" = -n ] || exit 64
        [ -n "$FAKE_SUDO_ROOT" ] || { echo "sudo: a password is required" >&2; exit 1; }
        shift
        [ "$1" = -- ] && shift
        KVM_STAT_ROOT=$FAKE_SUDO_ROOT exec "$@"
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-sudo-").FullName;
    private readonly FixtureRoot _userView = new();
    private readonly FixtureRoot _rootView = new();

    public CompletionSudoEndToEndTests()
    {
        foreach (string field in new[] { "exits", "halt_exits", "io_exits" })
        {
            _userView.AddDebugfsStat(field, 0);
            _rootView.AddDebugfsStat(field, 0);
        }
        // nobody may reach both fixtures, but only root the user's view of debugfs, as on a host.
        foreach (string folder in new[] { _folder, _userView.Root, _rootView.Root })
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(Path.Join(_userView.Root, "sys", "kernel", "debug"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Path.Join(_folder, "bin"));
        File.CreateSymbolicLink(Path.Join(_folder, "bin", "kvm_stat"), PublishedBinary.Path);
        File.WriteAllText(Path.Join(_folder, "bin", "sudo"), FakeSudo + "\n");
        File.SetUnixFileMode(Path.Join(_folder, "bin", "sudo"), (UnixFileMode)0b111_101_101);
        foreach (string shell in new[] { "bash", "fish" })
        {
            (int code, string script, string error) = ChildProcess.RunTool(s_timeout, "--completion", shell);
            Assert.True(code == 0, error);
            File.WriteAllText(Path.Join(_folder, $"kvm_stat.{shell}"), script + "\n");
        }
    }

    private string SudoLog => Path.Join(_folder, "sudo.log");

    private static string SudoGroup() =>
        File.ReadAllLines("/etc/group").Select(l => l.Split(':')).FirstOrDefault(f => f[0] == "sudo")?[2]
            ?? throw new InvalidOperationException("this host has no group sudo");

    /// <summary>Runs <paramref name="shell"/> as nobody (in group sudo when asked) with PATH's kvm_stat and sudo: output and errors.</summary>
    private (string Output, string Error) AsNobody(bool inSudoGroup, bool sudoNeedsPassword, string shell, params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = $"{Path.Join(_folder, "bin")}:/usr/bin:/bin",
            ["HOME"] = _folder,
            ["XDG_CONFIG_HOME"] = _folder,
            ["XDG_DATA_HOME"] = _folder,
            ["KVM_STAT_ROOT"] = _userView.Root,
            ["FAKE_SUDO_LOG"] = SudoLog,
            ["FAKE_SUDO_ROOT"] = sudoNeedsPassword ? "" : _rootView.Root,
        };
        (int code, string output, string error) = ChildProcess.Run("setpriv",
            ["--reuid", Nobody, "--regid", Nobody, inSudoGroup ? $"--groups={SudoGroup()}" : "--clear-groups", "--", shell, .. args], s_timeout, environment: environment);
        Assert.True(code == 0, error);
        return (output, error);
    }

    private (string[] Candidates, string Error) Bash(bool inSudoGroup, bool sudoNeedsPassword, params string[] words)
    {
        const string Program = """
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            _kvm_stat "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        (string output, string error) = AsNobody(inSudoGroup, sudoNeedsPassword, "/bin/bash",
            ["--norc", "--noprofile", "-c", Program, "bash", Path.Join(_folder, "kvm_stat.bash"), .. words]);
        return ([.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)], error);
    }

    /// <summary>The candidates are <paramref name="expected"/>, and nothing was written on the terminal.</summary>
    private static void AssertOffers(string[] expected, (string[] Candidates, string Error) completion)
    {
        Assert.Equal(expected, completion.Candidates);
        Assert.Equal("", completion.Error);
    }

    [Fact]
    public void BashAsksSudoWithoutAPasswordAndOtherwiseOffersNothingSilently()
    {
        Assert.SkipUnless(Environment.UserName == "root", "running the shell as user nobody needs root (./test.sh runs as root)");
        // Without sudo, the user's own "-f help" finds nothing: debugfs is root's.
        AssertOffers([], Bash(inSudoGroup: false, sudoNeedsPassword: false, "kvm_stat", "-d", "-f", "hal"));
        Assert.False(File.Exists(SudoLog), "a user outside sudo's groups never calls sudo (it would log and mail the attempt)");

        AssertOffers(["halt_exits"], Bash(inSudoGroup: true, sudoNeedsPassword: false, "kvm_stat", "-d", "-f", "hal"));
        Assert.Equal([$"-n -- {Path.Join(_folder, "bin", "kvm_stat")} -d -f help"], File.ReadAllLines(SudoLog));

        // sudo wants a password: -n makes it fail at once, and its message stays off the line.
        AssertOffers([], Bash(inSudoGroup: true, sudoNeedsPassword: true, "kvm_stat", "-d", "-f", "hal"));
        Assert.Equal(2, File.ReadAllLines(SudoLog).Length);
    }

    [Fact]
    public void FishAsksSudoWithoutAPasswordAndOtherwiseOffersNothingSilently()
    {
        Assert.SkipUnless(Environment.UserName == "root", "running the shell as user nobody needs root (./test.sh runs as root)");
        Assert.SkipUnless(File.Exists("/usr/bin/fish"), "fish is not installed (./test.sh installs it)");
        (string[], string) Complete(bool inSudoGroup, bool sudoNeedsPassword)
        {
            (string output, string error) = AsNobody(inSudoGroup, sudoNeedsPassword, "/usr/bin/fish",
                "--no-config", "-c", $"source '{Path.Join(_folder, "kvm_stat.fish")}'; complete -C'kvm_stat -d -f hal'");
            return ([.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[0])], error);
        }
        AssertOffers([], Complete(inSudoGroup: false, sudoNeedsPassword: false));
        Assert.False(File.Exists(SudoLog), "a user outside sudo's groups never calls sudo");
        AssertOffers(["halt_exits"], Complete(inSudoGroup: true, sudoNeedsPassword: false));
        Assert.Equal([$"-n -- {Path.Join(_folder, "bin", "kvm_stat")} -d -f help"], File.ReadAllLines(SudoLog));
        AssertOffers([], Complete(inSudoGroup: true, sudoNeedsPassword: true));
    }

    public void Dispose()
    {
        _userView.Dispose();
        _rootView.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
