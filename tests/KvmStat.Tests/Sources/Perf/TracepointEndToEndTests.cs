using System.Text.RegularExpressions;
using KvmStat.Sources;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Perf;

/// <summary>
/// The published binary against real guests on /dev/kvm: every out, MMIO write and halt the
/// guests make is counted exactly, system-wide and for one VM, in every non-interactive mode.
/// </summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class TracepointEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private const string Fields = "kvm_(pio|mmio|userspace_exit)";

    private static string Unique(string prefix) => $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24];

    private static void AssertExact(Dictionary<string, long> expected, Func<string, long> actual, int runs = 1)
    {
        foreach ((string field, long count) in expected)
            Assert.True(count * runs == actual(field), $"{field}: expected {count * runs}, counted {actual(field)}");
    }

    private static void WaitUntilCounting(ChildProcess tool) =>
        tool.WaitUntilCounting();

    [Theory]
    [InlineData("system-wide")]
    [InlineData("pid")]
    [InlineData("guest")]
    public void BatchCountsEveryExitExactly(string scope)
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Unique("batch"), vcpus: 2, outs: 500, mmio: 30);
        string[] args = scope switch
        {
            "pid" => ["-f", Fields, "-p", guest.Pid.ToString()],
            "guest" => ["-f", Fields, "-g", guest.Name],
            _ => ["-f", Fields],
        };
        BatchWindow.Result batch = BatchWindow.AroundOneRun(guest, args);

        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(batch.Output);
        AssertExact(guest.ExpectedPerRun(), name => fields[name].Total);
        AssertExact(guest.ExpectedPerRun(), name => fields[name].Delta);
        Assert.Equal(0, fields["kvm_userspace_exit(SHUTDOWN)"].Total);
        // The exit reasons always add up to their parent: the kernel's, the uapi table's, and any other.
        Assert.Equal(fields["kvm_userspace_exit"].Total, fields.Where(f => f.Key.StartsWith("kvm_userspace_exit(", StringComparison.Ordinal)).Sum(f => f.Value.Total));
    }

    /// <summary>
    /// A kernel whose print format lacks a reason the guest makes (here IO, taken out of a mirror of
    /// this host's tracefs): the uapi table names it, and the children still add up to the parent.
    /// </summary>
    [Fact]
    public void AReasonTheKernelsFormatLacksIsStillCountedByName()
    {
        Kvm.Require();
        using var mirror = new MirrorRoot("kvm_userspace_exit", format => format.Replace("{ 2, \"KVM_EXIT_\" \"IO\" }, ", ""));
        using var guest = GuestVm.Start(Unique("noio"), vcpus: 2, outs: 80, mmio: 6);
        foreach (string engine in new[] { "bpf", "perf" })
        {
            using ChildProcess tool = ChildProcess.Start(PublishedBinary.Path,
                ["-l", "-s", "25.5", "--verbose", "--engine", engine, "-f", "kvm_userspace_exit", "-p", guest.Pid.ToString()], mirror.Environment);
            tool.WaitUntilCounting();
            guest.Run();
            tool.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, tool.WaitForExit(s_timeout));
            Dictionary<string, long> sums = OutputParsers.SumLog(tool.Output.Lines, csv: false);
            Assert.Equal(160, sums["kvm_userspace_exit(IO)"]);
            Assert.Equal(0, sums["kvm_userspace_exit(OTHER)"]);
            Assert.Equal(174, sums["kvm_userspace_exit"]);
            Assert.Equal(sums["kvm_userspace_exit"], sums.Where(f => f.Key.StartsWith("kvm_userspace_exit(", StringComparison.Ordinal)).Sum(f => f.Value));
        }
    }

    /// <summary>Like the reference, -1 without -f prints every field, children included, sorted by name (no VM needed).</summary>
    [Fact]
    public void DefaultBatchShowsEveryFieldWithItsChildren()
    {
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "-s", "0.1");
        Assert.Equal(0, code);
        Assert.Empty(Kvm.WithoutNoVmLine(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        string[] names = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Dictionary<string, (long, long)> fields = OutputParsers.Batch(output);
        Assert.Contains("kvm_pio", fields.Keys);
        Assert.Contains("kvm_exit", fields.Keys);
        Assert.Contains("kvm_userspace_exit(IO)", fields.Keys);
        Assert.Contains("kvm_userspace_exit(OTHER)", fields.Keys);
        Assert.Equal(Directory.EnumerateDirectories("/sys/kernel/tracing/events/kvm").Count(), fields.Keys.Count(name => !name.Contains('(')));
    }

    [Fact]
    public void LogWithPidSumsToTheExactCounts()
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Unique("log"), vcpus: 2, outs: 300, mmio: 20);
        using ChildProcess tool = ChildProcess.StartTool("-l", "-s", "0.2", "--verbose", "-f", Fields, "-p", guest.Pid.ToString());
        tool.WaitUntilCounting();
        guest.Run();
        guest.Run();
        Dictionary<string, long> expected = guest.ExpectedPerRun();
        tool.Output.WaitFor(
            lines => OutputParsers.SumLog(lines, csv: false).GetValueOrDefault("kvm_pio") == expected["kvm_pio"] * 2,
            s_timeout, "all port writes logged");
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));

        string[] lines = tool.Output.Lines;
        Assert.StartsWith("kvm_mmio kvm_pio kvm_userspace_exit kvm_userspace_exit(AP_RESET_HOLD) kvm_userspace_exit(ARM_NISV) ", lines[0]);
        Dictionary<string, long> sums = OutputParsers.SumLog(lines, csv: false);
        AssertExact(expected, name => sums[name], runs: 2);
    }

    [Fact]
    public void ThreadsThatAppearLaterArePickedUp()
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Unique("late"), vcpus: 1, outs: 200, mmio: 5);
        using ChildProcess tool = ChildProcess.StartTool("-l", "-s", "0.1", "--verbose", "-f", Fields, "-p", guest.Pid.ToString());
        tool.WaitUntilCounting();
        guest.Spawn();
        // The tool follows new threads at each sample: wait for two more records.
        int records = OutputParsers.RecordCount(tool.Output.Lines);
        tool.Output.WaitFor(lines => OutputParsers.RecordCount(lines) >= records + 2, s_timeout, "two records after the new thread");
        guest.Run();
        Dictionary<string, long> expected = guest.ExpectedPerRun();
        Assert.Equal(400, expected["kvm_pio"]);
        tool.Output.WaitFor(
            lines => OutputParsers.SumLog(lines, csv: false).GetValueOrDefault("kvm_userspace_exit") >= expected["kvm_userspace_exit"],
            s_timeout, "the new vCPU's exits logged");
        tool.Signal(ChildProcess.SIGINT);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Dictionary<string, long> sums = OutputParsers.SumLog(tool.Output.Lines, csv: false);
        AssertExact(expected, name => sums[name]);
    }

    [Fact]
    public void CsvLogFileByGuestNameSurvivesRotationAndFlushesOnTerm()
    {
        Kvm.Require();
        string folder = Directory.CreateTempSubdirectory("kvm_stat-log-").FullName;
        try
        {
            string log = Path.Join(folder, "kvm.csv");
            using var guest = GuestVm.Start(Unique("csv"), vcpus: 2, outs: 100, mmio: 10);
            Dictionary<string, long> expected = guest.ExpectedPerRun();
            // A long interval: every record below is written because of a signal, not a timer.
            using ChildProcess tool = ChildProcess.StartTool("-L", log, "-c", "-s", "25", "--verbose", "-f", Fields, "-g", guest.Name);
            tool.WaitUntilCounting();
            Assert.Equal(["timestamp,kvm_mmio,kvm_pio,kvm_userspace_exit"], File.ReadAllLines(log).Select(l => l.Split(",kvm_userspace_exit(")[0]));

            // logrotate: rename, then SIGHUP; the tool writes a new header into the new file.
            File.Move(log, log + ".1");
            tool.Signal(ChildProcess.SIGHUP);
            WaitForFile(log, lines => lines.Length == 1);
            guest.Run();

            // SIGTERM: the partial interval is written and flushed before a clean exit.
            tool.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, tool.WaitForExit(s_timeout));
            string[] lines = File.ReadAllLines(log);
            Assert.Equal(2, lines.Length);
            Dictionary<string, long> sums = OutputParsers.SumLog(lines, csv: true);
            AssertExact(expected, name => sums[name]);
            Assert.Single(File.ReadAllLines(log + ".1"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void SkipZeroRecordsLeavesOutOnlyTheQuietIntervals()
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Unique("skipz"), vcpus: 1, outs: 50, mmio: 4);
        using ChildProcess skipping = ChildProcess.StartTool("-l", "-z", "-s", "0.1", "--verbose", "-f", Fields, "-p", guest.Pid.ToString());
        // A witness without -z shows when quiet intervals have passed (the -z log cannot show them).
        using ChildProcess witness = ChildProcess.StartTool("-l", "-s", "0.1", "--verbose", "-f", Fields, "-p", guest.Pid.ToString());
        skipping.WaitUntilCounting();
        witness.WaitUntilCounting();
        Dictionary<string, long> expected = guest.ExpectedPerRun();
        for (int run = 1; run <= 2; run++)
        {
            guest.Run();
            witness.Output.WaitFor(lines => OutputParsers.SumLog(lines, csv: false).GetValueOrDefault("kvm_pio") == expected["kvm_pio"] * run,
                s_timeout, "the witness logged the run");
            // Three more records of the witness: at least two quiet intervals for the -z log too.
            int witnessed = OutputParsers.RecordCount(witness.Output.Lines);
            witness.Output.WaitFor(lines => OutputParsers.RecordCount(lines) >= witnessed + 3, s_timeout, "quiet intervals");
        }
        skipping.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, skipping.WaitForExit(s_timeout));

        string[] lines = skipping.Output.Lines;
        string[] records = [.. lines.Where(l => l.Length > 0 && char.IsAsciiDigit(l[0]))];
        Assert.NotEmpty(records);
        Assert.All(records, record => Assert.Contains(record[19..].Split(' ', StringSplitOptions.RemoveEmptyEntries), value => value != "0"));
        Dictionary<string, long> sums = OutputParsers.SumLog(lines, csv: false);
        AssertExact(expected, name => sums[name], runs: 2);
        Assert.True(OutputParsers.RecordCount(witness.Output.Lines) > records.Length + 4, "the witness saw the quiet intervals the -z log left out");
    }

    [Fact]
    public void APlainLogFileHasTheBannerAndTheExactCounts()
    {
        Kvm.Require();
        string folder = Directory.CreateTempSubdirectory("kvm_stat-plain-").FullName;
        try
        {
            string log = Path.Join(folder, "kvm.log");
            using var guest = GuestVm.Start(Unique("plain"), vcpus: 2, outs: 60, mmio: 3);
            using ChildProcess tool = ChildProcess.StartTool("-L", log, "-s", "25.5", "--verbose", "-f", Fields + "$", "-p", guest.Pid.ToString());
            tool.WaitUntilCounting();
            guest.Run();
            tool.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, tool.WaitForExit(s_timeout));
            Assert.Empty(tool.Output.Lines);
            string[] lines = File.ReadAllLines(log);
            Assert.Equal(["kvm_mmio kvm_pio kvm_userspace_exit "], lines[..1]);
            Assert.Equal(2, lines.Length);
            Dictionary<string, long> sums = OutputParsers.SumLog(lines, csv: false);
            Assert.Equal(120, sums["kvm_pio"]);
            Assert.Equal(6, sums["kvm_mmio"]);
            Assert.Equal(128, sums["kvm_userspace_exit"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Without a file to reopen, SIGHUP (a closed terminal) ends a log like SIGTERM: nothing is lost.</summary>
    [Fact]
    public void AHangupEndsAStdoutLogWithItsLastRecord()
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Unique("hup"), vcpus: 1, outs: 40, mmio: 2);
        using ChildProcess tool = ChildProcess.StartTool("-l", "-s", "25.5", "--verbose", "-f", Fields + "$", "-p", guest.Pid.ToString());
        tool.WaitUntilCounting();
        guest.Run();
        tool.Signal(ChildProcess.SIGHUP);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        string[] lines = tool.Output.Lines;
        Assert.Equal(2, lines.Length);
        Dictionary<string, long> sums = OutputParsers.SumLog(lines, csv: false);
        Assert.Equal(40, sums["kvm_pio"]);
        Assert.Equal(43, sums["kvm_userspace_exit"]);
    }

    [Fact]
    public void FieldsHelpListsEveryTracepointOfThisHost()
    {
        Kvm.RequireTracepoints();
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-f", "help");
        Assert.Equal(0, code);
        Assert.Empty(error);
        string[] expected = [.. Directory.EnumerateDirectories("/sys/kernel/tracing/events/kvm").Select(d => "  " + Path.GetFileName(d)).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, output.TrimEnd('\n').Split('\n'));
    }

    private static void WaitForFile(string path, Func<string[], bool> condition)
    {
        using var changed = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!) { EnableRaisingEvents = true };
        watcher.Created += (_, _) => changed.Release();
        watcher.Changed += (_, _) => changed.Release();
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!(File.Exists(path) && condition(File.ReadAllLines(path))))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{path} did not reach the expected state");
            changed.Wait(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>
    /// The counters are handed at exit to a child that closes them (so the user does not wait for
    /// the kernel's grace periods, about 3 s for all tracepoints): the tool says which process took
    /// them, is back at once, and that child ends by itself soon after: it would otherwise hold the
    /// counters forever.
    /// </summary>
    [Fact]
    public void TheDescriptorHandOffChildEndsSoonAfterTheTool()
    {
        Kvm.RequireTracepoints();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, "-1", "-s", "0.1", "--verbose", "--engine", "perf", "-f", "[^(]*$");
        TimeSpan toolTook = clock.Elapsed;
        Assert.Equal(0, code);
        Match handOff = Regex.Match(error, @"(\d+) perf descriptors handed to process (\d+), which closes them after this one exits");
        Assert.True(handOff.Success, $"no hand-off reported:\n{error}");
        Assert.Equal(Directory.EnumerateDirectories("/sys/kernel/tracing/events/kvm").Count() * Environment.ProcessorCount,
            int.Parse(handOff.Groups[1].Value));
        // Closing them here would have taken a grace period per tracepoint (about 3 s).
        Assert.True(toolTook < TimeSpan.FromSeconds(2), $"the tool took {toolTook} to count for 0.1 s and exit");
        int child = int.Parse(handOff.Groups[2].Value);
        Assert.True(ProcessExit.WaitFor(child, TimeSpan.FromSeconds(20)), $"the hand-off child {child} still runs after 20 s");
    }

    [Fact]
    public void AClosedPipeEndsTheLogQuietly()
    {
        Kvm.RequireTracepoints();
        using ChildProcess shell = ChildProcess.Start("/bin/bash",
            ["-c", $"'{PublishedBinary.Path}' -l -s 0.1 -f kvm_pio | head -n 3; echo \"status=${{PIPESTATUS[0]}}\""]);
        Assert.Equal(0, shell.WaitForExit(s_timeout));
        Assert.Empty(Kvm.WithoutNoVmLine(shell.Error.Lines));
        string[] lines = shell.Output.Lines;
        Assert.Equal(4, lines.Length);
        Assert.Equal("kvm_pio ", lines[0]);
        Assert.Equal("status=0", lines[3]);
    }
}
