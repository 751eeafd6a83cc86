using KvmStat.Cli;
using KvmStat.Tests.Infrastructure;
using KvmStat.Host;

namespace KvmStat.Tests.Cli;

public class CommandLineTests
{
    internal static (int Code, string Output, string Error) Run(HostPaths paths, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code;
        try
        {
            code = Runner.Run(args, paths, output, error, TimeProvider.System);
        }
        catch (KvmStatException e)
        {
            Reporter.Report(e, error);
            code = e.ExitCode;
        }
        return (code, output.ToString(), error.ToString());
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var fixture = new FixtureRoot();
        return Run(fixture.Paths, args);
    }

    [Theory]
    [InlineData("-c -1", "-c/--csv requires -l/--log", 1)]
    [InlineData("-z", "-z/--skip-zero-records requires -l/--log", 1)]
    [InlineData("-f (", "\"(\" is not a valid regular expression", 1)]
    [InlineData("-1 --guest-fields kvm_pio", "option --guest-fields limits the values of each guest: it goes with --serve or --json.", 2)]
    [InlineData("-1 --json --guest-fields (", "option --guest-fields: \"(\" is not a valid regular expression", 2)]
    [InlineData("-1 --vcpus", "option --vcpus shows each vCPU of a VM: with -1, -l or -L add -p/-g (a child per vCPU) or --json (each guest's vCPUs).", 2)]
    [InlineData("-l --vcpus", "add -p/-g (a child per vCPU) or --json", 2)]
    [InlineData("-1 -d -p 1 --vcpus", "option --vcpus counts tracepoints per vCPU thread: add -t.", 2)]
    [InlineData("-1 -d --latency", "option --latency times exits with the tracepoint engine: add -t.", 2)]
    [InlineData("--serve 127.0.0.1:9576 -p 1 --vcpus", "with -p/-g the exporter serves no VM's own series: leave out -p/-g.", 2)]
    [InlineData("-s 30 -l", "\"30.0\": Delay must be <=25.5", 1)]
    [InlineData("-s 0.01 -l", "\"0.01\": Delay must be >=0.1", 1)]
    [InlineData("-s nan -l", "\"nan\": Delay must be a number", 2)]
    [InlineData("-s inf -l", "\"inf\": Delay must be <=25.5", 1)]
    [InlineData("-s abc -l", "\"abc\": Delay must be a number", 2)]
    [InlineData("-p -5 -1", "not a valid pid", 2)]
    [InlineData("-p x12 -1", "not a valid pid", 2)]
    [InlineData("-1 extra", "Unrecognized command or argument 'extra'", 2)]
    [InlineData("--bogus", "Unrecognized command or argument '--bogus'", 2)]
    [InlineData("--d -1", "ambiguous option: --d could match --debugfs, --debugfs-include-past, --doctor", 2)]
    [InlineData("--set 30 -l", "\"30.0\": Delay must be <=25.5", 1)]
    [InlineData("-1 -l", "use one of them", 2)]
    [InlineData("-p 1 -g x -1", "use one of them", 2)]
    [InlineData("-i -1", "-i/--debugfs-include-past applies to debugfs statistics", 2)]
    [InlineData("-s", "Required argument missing", 2)]
    [InlineData("-1 -s 1 3", "Unrecognized command or argument '3'", 2)]
    [InlineData("-s 0.5 --serve 127.0.0.1:9576", "option -s/--set-delay sets the refresh of the screen and of -l/-L: it does not go with --serve, which samples at each scrape (Prometheus's scrape_interval).", 2)]
    public void BadInputIsAUsageErrorInOneOrTwoLines(string args, string expected, int status)
    {
        (int code, string output, string error) = Run(args.Split(' '));
        // 1 where the reference checks the line itself (its sys.exit), 2 where its argparse refuses it.
        Assert.Equal(status, code);
        Assert.Empty(output);
        Assert.Contains(expected, error);
        Assert.InRange(error.TrimEnd('\n').Split('\n').Length, 1, 2);
        Assert.StartsWith("kvm_stat: error: ", error);
    }

    /// <summary>A pid as the reference's Python int() reads it: a + before, _ between digits; nothing else.</summary>
    [Theory]
    [InlineData("12", 12)]
    [InlineData("+12", 12)]
    [InlineData("1_2", 12)]
    [InlineData(" 7 ", 7)]
    [InlineData("1__2", -1)]
    [InlineData("_12", -1)]
    [InlineData("12_", -1)]
    [InlineData("++1", -1)]
    [InlineData("+", -1)]
    [InlineData("-3", -1)]
    public void APidIsReadAsPythonReadsIt(string text, int expected)
    {
        if (expected >= 0)
            Assert.Equal(expected, CommandLine.ParsePid(text));
        else
            Assert.Contains("is not a valid pid", Assert.Throws<UsageException>(() => CommandLine.ParsePid(text)).Message);
    }

    /// <summary>What the parser quotes of a bad command line has its control characters made visible.</summary>
    [Fact]
    public void AParseErrorShowsNoControlCharacter()
    {
        (int code, _, string error) = Run("-1", "--zzz\u001b[31m", "x\u001b]0;t\u0007");
        Assert.Equal(2, code);
        Assert.Contains("'--zzz\\e[31m'", error);
        Assert.DoesNotContain('\u001b', error);
        Assert.DoesNotContain('\u0007', error);
    }

    /// <summary>A delay out of range: the reference's words, then the range.</summary>
    [Theory]
    [InlineData("0")]
    [InlineData("30")]
    public void ADelayOutOfRangeNamesTheRange(string delay)
    {
        (_, _, string error) = Run("-l", "-s", delay);
        Assert.EndsWith("\nkvm_stat: Give -s/--set-delay a number of seconds from 0.1 to 25.5.\n", error);
    }

    /// <summary>
    /// --version names the release (the VERSION file's) and the commit, each as such; "+dirty"
    /// after the commit when the binary was built from a tree with uncommitted changes.
    /// </summary>
    [Fact]
    public void VersionNamesTheReleaseAndTheCommit()
    {
        (int code, string output, string error) = Run("--version");
        Assert.Equal(0, code);
        Assert.Empty(error);
        string release = File.ReadAllText(Path.Join(KvmStat.Tests.Architecture.Repository.Root, "VERSION")).Trim();
        Assert.Matches($@"^kvm_stat {System.Text.RegularExpressions.Regex.Escape(release)} \(commit [0-9a-f]{{12}}(\+dirty)?\)\n$", output);
    }

    [Fact]
    public void CompletionIsForBashZshOrFish()
    {
        (int code, string output, string error) = Run("--completion", "tcsh");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal("kvm_stat: error: \"tcsh\" is not a shell kvm_stat completes for: --completion takes bash, zsh, fish.\n", error);
        (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.DoesNotContain("--completion", output);
    }

    [Fact]
    public void HelpListsEveryReferenceOption()
    {
        (int code, string output, _) = Run("-h");
        Assert.Equal(0, code);
        // Each option line of -h starts with its names ("  -1, --once, --batch  run in batch mode"):
        // every reference option must be there with its own short and long names, as whole words.
        List<string[]> names = [.. output.Split('\n')
            .Where(l => l.StartsWith("  -", StringComparison.Ordinal))
            .Select(l => l.Trim().Split("  ")[0].Split(' ')[0..]
                .Select(n => n.TrimEnd(',')).Where(n => n.StartsWith('-')).ToArray())];
        string[][] reference =
        [
            ["-1", "--once", "--batch"], ["-c", "--csv"], ["-d", "--debugfs"], ["-f", "--fields"], ["-g", "--guest"],
            ["-i", "--debugfs-include-past"], ["-l", "--log"], ["-L", "--log-to-file"], ["-p", "--pid"], ["-s", "--set-delay"],
            ["-t", "--tracepoints"], ["-z", "--skip-zero-records"], ["-h", "--help"],
        ];
        foreach (string[] option in reference)
            Assert.Contains(names, line => option.All(line.Contains));
    }

    [Fact]
    public void NoSuchPidIsAnEnvironmentError()
    {
        using var fixture = new FixtureRoot();
        (int code, _, string error) = Run(fixture.Paths, "-1", "-p", "4242");
        Assert.Equal(1, code);
        Assert.Contains("no process with pid 4242", error);
    }

    [Fact]
    public void AThreadIdIsNotTakenForAPid()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(700, ["qemu", "-name", "x"], threads: [700, 701]);
        fixture.AddProcess(701, ["qemu", "-name", "x"], tgid: 700);
        fixture.MarkRunning(701);
        (int code, _, string error) = Run(fixture.Paths, "-1", "-p", "701");
        Assert.Equal(1, code);
        Assert.Contains("701 is a thread of process 700", error);
        Assert.Contains("-p 700", error);
    }

    [Fact]
    public void AProcessWithoutAVmIsRefused()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(800, ["bash"], comm: "bash");
        fixture.MarkRunning(800, "bash");
        (int code, _, string error) = Run(fixture.Paths, "-1", "-p", "800");
        Assert.Equal(1, code);
        Assert.Contains("process 800 (bash) is not running a KVM virtual machine", error);
    }

    /// <summary>A process of which it cannot be told whether it runs a VM is watched as one, and that is said: never silently.</summary>
    /// <summary>Process 801 ("init", -name init), running, whose descriptors cannot be read, where debugfs cannot be listed: whether it runs a VM cannot be told.</summary>
    internal static FixtureRoot UncheckablePid()
    {
        var fixture = new FixtureRoot();
        fixture.AddProcess(801, ["init", "-name", "init"], comm: "init");
        fixture.MarkRunning(801, "init");
        Directory.Delete(fixture.Paths.Map("/proc/801/fd"));
        return fixture;
    }

    /// <summary>Where counting cannot open, the error that ends the run is all that is said: not a pid taken for a VM unconfirmed.</summary>
    [Fact]
    public void APidThatCannotBeCheckedIsNotSaidWhereNothingCounts()
    {
        using FixtureRoot fixture = UncheckablePid();
        (int code, _, string error) = Run(fixture.Paths, "-1", "-p", "801");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("cannot tell whether", error);
        Assert.Equal(2, error.TrimEnd('\n').Split('\n').Length);
    }

    [Fact]
    public void AnExitedProcessIsNotRunning()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(900, ["qemu", "-name", "gone"]);
        fixture.AddDebugfsStat("900-4/exits", 1);
        fixture.MarkZombie(900);
        (int code, _, string error) = Run(fixture.Paths, "-1", "-p", "900");
        Assert.Equal(1, code);
        Assert.Contains("no process with pid 900 is running", error);
    }

    [Fact]
    public void GuestNamesMustMatchExactlyOnce()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(12, ["qemu", "-name", "twin"]);
        fixture.AddProcess(13, ["qemu", "-name", "twin"]);
        fixture.AddDescriptor(12, 9, "anon_inode:kvm-vm");
        fixture.AddDescriptor(13, 9, "anon_inode:kvm-vm");

        (int code, _, string error) = Run(fixture.Paths, "-1", "-g", "nobody");
        Assert.Equal(1, code);
        Assert.Contains("no guest by the name \"nobody\" found", error);

        (code, _, error) = Run(fixture.Paths, "-1", "-g", "twin");
        Assert.Equal(1, code);
        Assert.Contains("pids: 12 13", error);
        Assert.Contains("Use \"-p\" to specify the desired pid", error);
    }

    [Fact]
    public void AHostileGuestNameIsEscapedInMessages()
    {
        using var fixture = new FixtureRoot();
        (_, _, string error) = Run(fixture.Paths, "-1", "-g", "evil\x1b]0;pwned\x07");
        Assert.DoesNotContain('\x1b', error);
        Assert.Contains("evil\\e]0;pwned\\x07", error);
    }

    [Fact]
    public void MissingTracefsAndDebugfsSayHowToMount()
    {
        using var fixture = new FixtureRoot();
        Directory.CreateDirectory(fixture.Paths.Map("/sys/kernel/tracing"));
        (int code, _, string error) = Run(fixture.Paths, "-1");
        Assert.Equal(1, code);
        Assert.Contains("mount -t tracefs", error);

        (code, _, error) = Run(fixture.Paths, "-1", "-d");
        Assert.Equal(1, code);
        Assert.Contains("mount -t debugfs", error);
    }

    [Fact]
    public void NoKvmAtAllIsNamed()
    {
        using var fixture = new FixtureRoot();
        fixture.RemoveKvm();
        fixture.WriteFile("/sys/kernel/tracing/events/sched/sched_switch/id", "1\n");
        fixture.WriteFile("/sys/kernel/debug/sched/x", "1\n");
        (int code, _, string error) = Run(fixture.Paths, "-1");
        Assert.Equal(1, code);
        Assert.Contains("KVM is not loaded", error);
        (code, _, error) = Run(fixture.Paths, "-1", "-d");
        Assert.Equal(1, code);
        Assert.Contains("the KVM module is not loaded", error);
        Assert.Contains("modprobe kvm_intel", error);
        // Binary statistics name the same cause, not QEMU's version.
        (code, _, error) = Run(fixture.Paths, "-1", "--binary-stats");
        Assert.Equal(1, code);
        Assert.Contains("no VM's binary statistics could be read: no VM runs here: the KVM module is not loaded", error);
        Assert.Contains("modprobe kvm_intel", error);
        Assert.DoesNotContain("QEMU", error);
    }

    /// <summary>A start that fails after -L opened its file leaves no empty file of its own behind; a file that was there stays.</summary>
    [Fact]
    public void AFailedStartLeavesNoLogFileOfItsOwn()
    {
        using var fixture = new FixtureRoot();
        fixture.RemoveKvm();
        fixture.WriteFile("/sys/kernel/debug/sched/x", "1\n");
        string log = Path.Join(fixture.Root, "kvm_stat.csv");
        (int code, _, string error) = Run(fixture.Paths, "-d", "-c", "-L", log);
        Assert.Equal(1, code);
        Assert.Contains("the KVM module is not loaded", error);
        Assert.False(File.Exists(log), "the failed start left its log file");
        File.WriteAllText(log, "");
        (code, _, _) = Run(fixture.Paths, "-d", "-c", "-L", log);
        Assert.Equal(1, code);
        Assert.True(File.Exists(log), "a file that was there before was removed");
    }

    [Fact]
    public void FieldsHelpListsParentsIndented()
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_pio", 1);
        fixture.AddTracepoint("kvm_exit", 2, FixtureRoot.TestData("kvm_exit.format"));
        fixture.AddDebugfsStat("exits", 1);
        // A name is printed safely, as every name from outside is: no control byte reaches the terminal.
        fixture.AddDebugfsStat("x\u001b]0;t\u0007", 1);
        (int code, string output, _) = Run(fixture.Paths, "-f", "help", "-d", "-t");
        Assert.Equal(0, code);
        Assert.Equal("  exits\n  kvm_exit\n  kvm_pio\n  x\\e]0;t\\x07\n", output);
    }

    [Fact]
    public void DebugfsOnlyWithAPidNeedsItsFolder()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(12, ["qemu", "-name", "a"]);
        fixture.MarkRunning(12);
        fixture.AddProcess(312, ["qemu", "-name", "b"]);
        fixture.AddDebugfsStat("exits", 1);
        fixture.AddDebugfsStat("312-4/exits", 1);
        (int code, _, string error) = Run(fixture.Paths, "-1", "-d", "-p", "12");
        Assert.Equal(1, code);
        Assert.Contains("is not running a KVM virtual machine", error);
    }

    [Fact]
    public void NoMatchingFieldIsAnError()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 1);
        (int code, _, string error) = Run(fixture.Paths, "-1", "-d", "-f", "nothing");
        Assert.Equal(2, code);
        Assert.Contains("no field matches \"nothing\"", error);
        Assert.Contains("kvm_stat -f help", error);
    }

    [Fact]
    public void BatchOverAFixtureDebugfsPrintsTheReferenceLayout()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("pages_4k", 0, writable: false);
        fixture.AddDebugfsStat("5-1/exits", 10);
        fixture.AddDebugfsStat("5-1/pages_4k", 300, writable: false);
        (int code, string output, string error) = Run(fixture.Paths, "-1", "-d", "-s", "0.1");
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(
            "exits                                              0         0\n" +
            "pages_4k                                         300         0\n",
            output);
    }

    /// <summary>
    /// As the reference: without tracefs, a run that chose no source falls back to debugfs, saying
    /// so; -t insists on tracepoints and fails with how to mount tracefs.
    /// </summary>
    [Fact]
    public void WithoutTracefsARunOfNoChosenSourceFallsBackToDebugfs()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("5-1/exits", 10);
        (int code, string output, string error) = Run(fixture.Paths, "-1", "-s", "0.1");
        Assert.Equal(0, code);
        Assert.Equal("exits                                              0         0\n", output);
        Assert.Equal(
            $"kvm_stat: tracefs is not mounted (no {fixture.Paths.TracingPrimary}/events): counting KVM's debugfs statistics instead, as -d does.\n" +
            "kvm_stat: For the tracepoints, mount it (mount -t tracefs nodev /sys/kernel/tracing); -t insists on them.\n", error);

        // -i applies to the debugfs statistics it falls back to.
        (code, output, _) = Run(fixture.Paths, "-1", "-s", "0.1", "-i");
        Assert.Equal(0, code);
        Assert.Equal("exits                                             10         0\n", output);

        (code, _, error) = Run(fixture.Paths, "-1", "-s", "0.1", "-t");
        Assert.Equal(1, code);
        Assert.Contains("tracefs is not mounted", error);
        Assert.Contains("mount -t tracefs nodev /sys/kernel/tracing", error);
    }
}
