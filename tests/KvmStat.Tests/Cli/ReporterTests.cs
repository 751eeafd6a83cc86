using KvmStat.Cli;

namespace KvmStat.Tests.Cli;

public class ReporterTests
{
    /// <summary>A message that carries another user's text unescaped still reaches the terminal with its controls made visible.</summary>
    [Fact]
    public void EveryLineOnStderrHasItsControlCharactersMadeVisible()
    {
        var error = new StringWriter();
        var reporter = new Reporter(verbose: true, error);
        reporter.Warn("QEMU at /tmp/q\x1b]0;PWNED\x07.sock");
        reporter.Verbose("path \x1b[31mred");
        Reporter.Report(new EnvironmentException("no guest \"\x1b[2J\"", "fix \u202e"), error);
        Assert.Equal(
            "kvm_stat: QEMU at /tmp/q\\e]0;PWNED\\x07.sock\n" +
            "kvm_stat: path \\e[31mred\n" +
            "kvm_stat: error: no guest \"\\e[2J\"\n" +
            "kvm_stat: fix \\u202e\n", error.ToString());

        var shown = new List<string>();
        reporter.ShowOn(shown.Add);
        reporter.Warn("on the screen \x1b[H");
        Assert.Equal(["on the screen \\e[H"], shown);
    }

    /// <summary>
    /// Warnings shown on the screen's last row (cut at its width, replaced by the next) are said on
    /// stderr once the screen has closed, each once, whole.
    /// </summary>
    [Fact]
    public void WarningsTheScreenShowedAreSaidOnStderrWhenItCloses()
    {
        var error = new StringWriter();
        var reporter = new Reporter(verbose: true, error);
        var shown = new List<string>();
        reporter.ShowOn(shown.Add);
        string fallback = "counting with perf counters: BPF is not available (" + new string('x', 200) + ")";
        reporter.Warn(fallback);
        reporter.Verbose("a note");
        reporter.Warn("second");
        reporter.Warn(fallback);
        Assert.Equal("", error.ToString());
        reporter.ShowOn(null);
        Assert.Equal($"kvm_stat: {fallback}\nkvm_stat: second\n", error.ToString());
        Assert.Equal(4, shown.Count);
        reporter.Warn("after");
        Assert.EndsWith("kvm_stat: after\n", error.ToString());
    }
}
