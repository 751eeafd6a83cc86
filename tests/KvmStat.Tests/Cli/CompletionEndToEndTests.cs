using System.Text.RegularExpressions;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// The shell completions the published binary writes (--completion SHELL, which ./build.sh saves
/// and the packages install), run in the shells themselves: options, their values, and field names
/// that the tool lists at completion time (-f help, here over a fixture debugfs).
/// </summary>
public class CompletionEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>A fixture debugfs with three fields, and the completion script of a shell in a folder of its own.</summary>
    private sealed class Setup : IDisposable
    {
        internal Setup(string shell)
        {
            Fixture.AddDebugfsStat("exits", 0);
            Fixture.AddDebugfsStat("halt_exits", 0);
            Fixture.AddDebugfsStat("io_exits", 0);
            (int code, string script, string error) = ChildProcess.RunTool(s_timeout, "--completion", shell);
            Assert.True(code == 0, error);
            Script = script + "\n";
            ScriptFile = Path.Join(Folder, shell == "zsh" ? "_kvm_stat" : $"kvm_stat.{shell}");
            File.WriteAllText(ScriptFile, Script);
            // The scripts call the command being completed; "kvm_stat" is found on PATH here.
            Directory.CreateDirectory(Path.Join(Folder, "bin"));
            File.CreateSymbolicLink(Path.Join(Folder, "bin", "kvm_stat"), PublishedBinary.Path);
        }

        internal FixtureRoot Fixture { get; } = new();

        internal string Folder { get; } = Directory.CreateTempSubdirectory("kvm_stat-completion-").FullName;

        internal string Script { get; }

        internal string ScriptFile { get; }

        internal Dictionary<string, string> Environment => new()
        {
            ["KVM_STAT_ROOT"] = Fixture.Root,
            ["PATH"] = $"{Path.Join(Folder, "bin")}:{System.Environment.GetEnvironmentVariable("PATH")}",
            ["HOME"] = Folder,
        };

        public void Dispose()
        {
            Fixture.Dispose();
            Directory.Delete(Folder, recursive: true);
        }
    }

    /// <summary>The options -h lists (but "-?", which every shell takes for a pattern).</summary>
    private static string[] HelpOptions()
    {
        (int code, string help, _) = ChildProcess.RunTool(s_timeout, "--help");
        Assert.Equal(0, code);
        string[] options = [.. help.Split('\n').Where(l => l.StartsWith("  -", StringComparison.Ordinal))
            .SelectMany(l => l.Trim().Split(' ').TakeWhile(t => t.StartsWith('-')).Select(t => t.TrimEnd(',')))
            .Where(o => o != "-?")];
        Assert.True(options.Length >= 30, "options read from -h");
        return options;
    }

    [Fact]
    public void EachShellsCompletionOffersEveryOptionOfTheHelp()
    {
        string[] options = HelpOptions();
        using (var bash = new Setup("bash"))
        {
            string words = " " + Regex.Match(bash.Script, @"compgen -W '(-[^']*)' -- ""\$cur""\)\n}").Groups[1].Value + " ";
            Assert.All(options, o => Assert.Contains($" {o} ", words));
        }
        using (var zsh = new Setup("zsh"))
            Assert.All(options, o => Assert.Matches($@"(?<=[{{,)*']){Regex.Escape(o)}(?=[+=,}}\[])", zsh.Script));
        using (var fish = new Setup("fish"))
            Assert.All(options, o => Assert.Contains(o.StartsWith("--", StringComparison.Ordinal) ? $" -l '{o[2..]}'" : $" -s '{o[1..]}'", fish.Script));
    }

    /// <summary>
    /// Completes the last of <paramref name="words"/> as bash does: COMP_WORDS, COMP_CWORD, and the
    /// function's arguments (the command, the word, the one before). Returns COMPREPLY, sorted.
    /// </summary>
    private static string[] BashComplete(Setup setup, params string[] words)
    {
        const string Program = """
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            _kvm_stat "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        (int code, string output, string error) = ChildProcess.Run("/bin/bash", ["--norc", "--noprofile", "-c", Program, "bash", setup.ScriptFile, .. words],
            s_timeout, environment: setup.Environment);
        Assert.True(code == 0, error);
        Assert.Empty(error);
        // bash sorts the candidates it shows.
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void BashCompletesOptionsAndFieldNames()
    {
        using var setup = new Setup("bash");
        Assert.Equal(["--version"], BashComplete(setup, "kvm_stat", "--vers"));
        Assert.Equal(["--verbose", "--version"], BashComplete(setup, "kvm_stat", "-d", "--ver"));
        // Field names come from "-f help" with the sources already on the line: -d, the fixture's debugfs.
        Assert.Equal(["halt_exits"], BashComplete(setup, "kvm_stat", "-d", "-f", "hal"));
        Assert.Equal(["exits", "halt_exits", "io_exits"], BashComplete(setup, "kvm_stat", "--debugfs", "--fields", "=", ""));
        // Without -t the fields of a host without tracefs are debugfs's, as a run falls back to them;
        // with -t they are the tracepoints, which the fixture lacks: nothing, and no error on the line.
        Assert.Equal(["halt_exits"], BashComplete(setup, "kvm_stat", "-f", "hal"));
        Assert.Empty(BashComplete(setup, "kvm_stat", "-t", "-f", "hal"));
        Assert.Equal(["perf"], BashComplete(setup, "kvm_stat", "--engine", "p"));
        Assert.Empty(BashComplete(setup, "kvm_stat", "-s", ""));
        string log = Path.Join(setup.Folder, "kvm_stat-log.csv");
        File.WriteAllText(log, "");
        Assert.Equal([log], BashComplete(setup, "kvm_stat", "-L", Path.Join(setup.Folder, "kvm_stat-lo")));
        Assert.Equal(["auto"], BashComplete(setup, "kvm_stat", "--qmp", "au"));
    }

    [Fact]
    public void FishCompletesOptionsAndFieldNames()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/fish"), "fish is not installed (./test.sh installs it)");
        using var setup = new Setup("fish");
        string[] Complete(string line)
        {
            (int code, string output, string error) = ChildProcess.Run("/usr/bin/fish", ["--no-config", "-c", $"source '{setup.ScriptFile}'; complete -C'{line}'"],
                s_timeout, environment: setup.Environment);
            Assert.True(code == 0, error);
            return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[0])];
        }
        Assert.Equal(["--version"], Complete("kvm_stat --vers"));
        Assert.Equal(["halt_exits"], Complete("kvm_stat -d -f hal"));
        Assert.Equal(["bpf"], Complete("kvm_stat --engine b"));
    }

    /// <summary>zsh's completion system, in a real terminal: Tab after an option's start, and after -f.</summary>
    [Fact]
    public void ZshCompletesOptionsAndFieldNames()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/zsh"), "zsh is not installed (./test.sh installs it)");
        Assert.SkipUnless(TmuxPane.Available, "tmux is not installed (./test.sh installs it)");
        using var setup = new Setup("zsh");
        using var pane = new TmuxPane(200, 20);
        pane.Type("exec zsh -f");
        Dictionary<string, string> environment = setup.Environment;
        pane.Type($"PS1='%% '; export KVM_STAT_ROOT='{environment["KVM_STAT_ROOT"]}' PATH='{environment["PATH"]}'; " +
            $"fpath=('{setup.Folder}' $fpath); autoload -U compinit; compinit -u -D; print READY");
        pane.WaitFor(lines => lines.Any(l => l == "READY"), "zsh's completion system");

        pane.Run("send-keys", "-l", "kvm_stat --vers");
        pane.Keys("Tab");
        pane.WaitFor(lines => lines.Any(l => l.StartsWith("% kvm_stat --version", StringComparison.Ordinal)), "--vers completed to --version");
        pane.Keys("C-u");
        pane.Run("send-keys", "-l", "kvm_stat -d -f hal");
        pane.Keys("Tab");
        pane.WaitFor(lines => lines.Any(l => l.StartsWith("% kvm_stat -d -f halt_exits", StringComparison.Ordinal)), "hal completed to halt_exits");
        pane.Keys("C-u");
    }
}
