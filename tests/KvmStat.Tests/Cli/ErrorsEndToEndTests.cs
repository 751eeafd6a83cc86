using KvmStat.Sources;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>The published binary meets bad input and bad environments with one or two plain lines.</summary>
public class ErrorsEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private static void AssertPlainError(int code, string error, int expectedCode, string expected)
    {
        Assert.Equal(expectedCode, code);
        Assert.Contains(expected, error);
        Assert.InRange(error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, 1, 2);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("Exception", error);
    }

    [Theory]
    [InlineData("-s|nan|-l", 2, "Delay must be a number")]
    [InlineData("-s|30|-l", 1, "\"30.0\": Delay must be <=25.5")]
    [InlineData("-p|-7", 2, "not a valid pid")]
    [InlineData("-1|surplus", 2, "Unrecognized command or argument 'surplus'")]
    [InlineData("-f|(|-1", 1, "is not a valid regular expression")]
    [InlineData("-f|[|-1", 1, "a backslash makes ( ) [ ] * + ? . stand for themselves")]
    [InlineData("-f|nothing\u001b]0;x\u0007|-1", 2, "no tracepoint field matches \"nothing\\e]0;x\\x07\".")]
    [InlineData("-f|kvm_userspace_exit(IO)|-1", 2, "-f is a regular expression, where ( and ) group: to name a child as kvm_stat -1 shows it, escape them: -f 'kvm_userspace_exit\\(IO\\)'")]
    [InlineData("-c|-1", 1, "requires -l/--log")]
    [InlineData("-L|/nonexistent/dir/log", 1, "cannot open log file \"/nonexistent/dir/log\": No such file or directory")]
    [InlineData("-1|-p|2147483647", 1, "no process with pid 2147483647")]
    [InlineData("-1|-g|no-such-guest-anywhere", 1, "no guest by the name \"no-such-guest-anywhere\" found")]
    public void BadInput(string args, int code, string expected)
    {
        (int actual, string output, string error) = ChildProcess.RunTool(s_timeout, args.Split('|'));
        AssertPlainError(actual, error, code, expected);
        Assert.Empty(output);
    }

    [Fact]
    public void NonTerminalOutputWithoutAModeIsAnError()
    {
        (int code, _, string error) = ChildProcess.RunTool(s_timeout);
        Assert.NotEqual(0, code);
        Assert.Contains("-1", error);
        Assert.DoesNotContain("   at ", error);
    }

    /// <summary>A root tool that can listen on the network keeps full address-space randomisation: ELF type DYN.</summary>
    [Fact]
    public void ThePublishedBinaryIsPositionIndependent()
    {
        byte[] header = new byte[18];
        using (FileStream file = File.OpenRead(PublishedBinary.Path))
            file.ReadExactly(header);
        Assert.Equal("\x7f" + "ELF", System.Text.Encoding.ASCII.GetString(header, 0, 4));
        Assert.Equal(3, BitConverter.ToUInt16(header, 16)); // e_type: ET_DYN
    }

    [Fact]
    public void AnUnprivilegedUserIsToldWhatIsMissing()
    {
        Assert.SkipUnless(Environment.UserName == "root", "needs root to switch to an unprivileged user");
        using ChildProcess tool = ChildProcess.Start("setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", PublishedBinary.Path, "-1"]);
        int code = tool.WaitForExit(s_timeout);
        AssertPlainError(code, tool.Error.Text, 1, "permission denied");
        Assert.Contains("root", tool.Error.Text);
        Assert.DoesNotContain("KVM is not loaded", tool.Error.Text);
    }

    [Fact]
    public void TheDoctorTellsAnUnprivilegedUserWhatFails()
    {
        Assert.SkipUnless(Environment.UserName == "root", "needs root to switch to an unprivileged user");
        using ChildProcess tool = ChildProcess.Start("setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", PublishedBinary.Path, "--doctor"]);
        Assert.Equal(1, tool.WaitForExit(s_timeout));
        string[] lines = tool.Output.Lines;
        Assert.StartsWith("warn  privileges            running as uid 65534", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("fail  tracefs", StringComparison.Ordinal) && l.Contains("permission denied"));
        // debugfs is mounted, only closed to this user: it must not be called missing.
        string debugfs = Assert.Single(lines, l => l.StartsWith("fail  debugfs", StringComparison.Ordinal));
        Assert.Contains("permission denied", debugfs);
        Assert.DoesNotContain("mount -t debugfs", debugfs);
        Assert.DoesNotContain(lines, l => l.Contains("0 tracepoints"));
        Assert.Empty(tool.Error.Lines);
    }

    private static bool CanCountTracepoints() =>
        Environment.UserName == "root" && Directory.Exists("/sys/kernel/tracing/events/kvm");

    [Fact]
    public void ALowSoftFileLimitIsRaised()
    {
        Assert.SkipUnless(CanCountTracepoints(), "needs root and kvm tracepoints");
        // A NativeAOT binary keeps the soft limit it starts with; 16 is far below CPUs × fields.
        using ChildProcess tool = ChildProcess.Start("prlimit", ["--nofile=16:", PublishedBinary.Path, "-1", "-s", "0.1"]);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Assert.Empty(Kvm.WithoutNoVmLine(tool.Error.Lines));
        Assert.True(OutputParsers.Batch(tool.Output.Text).Count > 50);
    }

    [Fact]
    public void AHardFileLimitTooLowIsExplained()
    {
        Assert.SkipUnless(CanCountTracepoints(), "needs root and kvm tracepoints");
        // Without CAP_SYS_RESOURCE even root cannot raise the hard limit.
        using ChildProcess tool = ChildProcess.Start("setpriv",
            ["--bounding-set", "-sys_resource", "prlimit", "--nofile=40:40", PublishedBinary.Path, "-1"]);
        int code = tool.WaitForExit(s_timeout);
        AssertPlainError(code, tool.Error.Text, 1, "open-file limit (RLIMIT_NOFILE) is 40 and cannot be raised");
        Assert.Contains("ulimit -Hn", tool.Error.Text);
        // Root already: "run as root" would be no fix.
        Assert.DoesNotContain("run as root", tool.Error.Text);
    }

    [Fact]
    public void AFixtureHostWithoutTracefsOrKvm()
    {
        using var fixture = new FixtureRoot();
        var environment = new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root };
        Directory.CreateDirectory(fixture.Paths.Map("/sys/kernel/tracing"));
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, environment, "-1");
        AssertPlainError(code, error, 1, "mount -t tracefs nodev /sys/kernel/tracing");

        Directory.Delete(fixture.Paths.Map("/sys/module/kvm"));

        File.Delete(fixture.Paths.DevKvm);
        fixture.WriteFile("/sys/kernel/tracing/events/sched/sched_switch/id", "1\n");
        (code, _, error) = ChildProcess.RunTool(s_timeout, environment, "-1");
        AssertPlainError(code, error, 1, "KVM is not loaded");
    }

    [Fact]
    public void AFixtureDebugfsIsReadByTheBinary()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("77-3/exits", 5);
        var environment = new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root };
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-d", "-i", "-s", "0.1");
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal("exits                                              5         0\n", output + "\n");
    }

    /// <summary>On a host where no VM can run, -1, -l and --serve say so in one line, with the kernel's reason, and then work.</summary>
    [Fact]
    public void WithoutUsableKvmOneLineSaysSoAndTheRunGoesOn()
    {
        using var fixture = new FixtureRoot();
        File.Delete(fixture.Paths.DevKvm);
        fixture.WriteFile("/dev/kmsg", "6,255,273444,-;kvm-pvm: this kernel is itself a kvm-pvm guest; not binding\n");
        fixture.AddDebugfsStat("pages_4k", 0, writable: false);
        var environment = new Dictionary<string, string> { ["KVM_STAT_ROOT"] = fixture.Root };
        const string Said = "kvm_stat: no VM can run on this host: KVM is built in but not usable here (no /dev/kvm); " +
            "the kernel said: \"kvm-pvm: this kernel is itself a kvm-pvm guest; not binding\".";

        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-d", "-s", "0.1");
        Assert.Equal(0, code);
        Assert.Equal([Said], error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pages_4k ", output);

        foreach (string[] arguments in new[] { new[] { "-l", "-d", "-s", "0.1" }, ["--serve", $"127.0.0.1:{Loopback.FreePort()}", "-d"] })
        {
            using ChildProcess tool = ChildProcess.Start(PublishedBinary.Path, arguments, environment);
            tool.Error.WaitForLine(l => l == Said, s_timeout, "the line about VMs");
            tool.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, tool.WaitForExit(s_timeout));
            Assert.Equal([Said], tool.Error.Lines.Where(l => l.Length > 0));
        }
    }
}
