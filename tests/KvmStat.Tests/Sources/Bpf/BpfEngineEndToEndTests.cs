using System.Text.Json;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>The BPF engine through the published binary: exact per-guest counts, and what happens when BPF cannot count.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class BpfEngineEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A record whose reason the verifier cannot let a program read (beyond the most a record can
    /// hold); 8 bytes wide, unlike the tracepoint's argument, so the engine reads it from the record.
    /// </summary>
    private static MirrorRoot UnreadableReason() =>
        new("kvm_userspace_exit", format => format.Replace("field:__u32 reason;\toffset:8;\tsize:4;", "field:__u32 reason;\toffset:12288;\tsize:8;"));

    /// <summary>Needs no VM: the program is refused when it attaches.</summary>
    [Fact]
    public void AFormatThatDisagreesWithTheRecordIsExplained()
    {
        using var mirror = new MirrorRoot("kvm_userspace_exit", format => format.Replace("field:__u32 reason;\toffset:8;\tsize:4;", "field:__u32 reason;\toffset:4096;\tsize:8;"));
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, mirror.Environment, "-1", "--engine", "bpf", "-f", "kvm_userspace_exit");
        Assert.Equal(1, code);
        Assert.Contains("attaching to the tracepoint kvm_userspace_exit, whose record does not reach offset 4096 where its format file puts reason", error);
    }

    [Fact]
    public void ARejectedProgramFallsBackToPerfCountersWithOneLine()
    {
        Kvm.Require();
        using MirrorRoot mirror = UnreadableReason();
        using var guest = GuestVm.Start($"fallback-{Environment.ProcessId}", vcpus: 1, outs: 30, mmio: 2);
        using ChildProcess tool = ChildProcess.Start(PublishedBinary.Path,
            ["-l", "-s", "25.5", "-f", "kvm_userspace_exit", "-p", guest.Pid.ToString(), "--verbose"], mirror.Environment);
        tool.WaitUntilCounting();
        guest.Run();
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        string line = Assert.Single(tool.Error.Lines, l => l.Contains("BPF is not available"));
        Assert.StartsWith("kvm_stat: counting with perf counters: BPF is not available (loading the BPF program kvm_userspace_exit", line);
        Assert.Contains("the verifier said", line);
        Assert.Equal(30, OutputParsers.SumLog(tool.Output.Lines, csv: false)["kvm_userspace_exit(IO)"]);
    }

    [Fact]
    public void InsistingOnBpfWhereItIsRejectedIsAPlainError()
    {
        using MirrorRoot mirror = UnreadableReason();
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, mirror.Environment, "-1", "--engine", "bpf", "-f", "kvm_userspace_exit");
        Assert.Equal(1, code);
        Assert.Empty(output);
        string[] lines = error.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("kvm_stat: error: BPF counting is not available: loading the BPF program kvm_userspace_exit", lines[0]);
        Assert.Contains("--engine perf", lines[1]);
    }

    [Fact]
    public void TheDoctorSaysWhichEngineCountsAndWhetherKvmExitFires()
    {
        Kvm.Require();
        // A VM whose port writes its VMM handles in the kernel: no exit to user space, yet VM exits.
        using ChildProcess guest = ChildProcess.Start(ChurnGuest.Path,
            ["-name", "doctor", "--vcpus", "1", "--outs", "100", "--every", "50", "--lifetime", "10000"]);
        (int code, string output, _) = ChildProcess.RunTool(s_timeout, "--doctor");
        Assert.Equal(0, code);
        string[] lines = output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("ok    engine                BPF: programs load and attach", StringComparison.Ordinal));
        string exits = Assert.Single(lines, l => l.StartsWith("ok    kvm_exit              fires", StringComparison.Ordinal)
            || l.StartsWith("warn  kvm_exit              never fired although VMs ran", StringComparison.Ordinal));
        Assert.Matches(@"kvm_pio [1-9]\d*", exits);
    }

    [Fact]
    public void ForcingPerfCountersNeedsNoBpf()
    {
        Kvm.RequireTracepoints();
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, "-1", "-s", "0.1", "--engine", "perf", "--verbose", "-f", "kvm_pio");
        Assert.Equal(0, code);
        Assert.Contains("with perf counters", error);
        Assert.DoesNotContain("BPF", error);
        (code, _, error) = ChildProcess.RunTool(s_timeout, "-1", "--engine", "ebpf");
        Assert.Equal(2, code);
        Assert.Contains("\"ebpf\" is not an engine", error);
    }

    /// <summary>
    /// Per guest, exact from each guest's first event: one started before the tool, one started
    /// right after it said it counts; and the guests, the events outside VMs and those of exited
    /// VMs add up to the host's counts in every record.
    /// </summary>
    [Fact]
    public void GuestsStartedBeforeAndRightAfterAreExactAndEverythingAddsUp()
    {
        Kvm.Require();
        using var before = GuestVm.Start($"before-{Environment.ProcessId}", vcpus: 2, outs: 120, mmio: 4);
        using ChildProcess tool = ChildProcess.StartTool("-l", "--json", "-s", "25.5", "--verbose", "-f", "kvm_(pio|mmio|userspace_exit)");
        tool.WaitUntilCounting();
        using var after = GuestVm.Start($"after-{Environment.ProcessId}", vcpus: 2, outs: 90, mmio: 6);
        before.Run();
        after.Run();
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        using JsonDocument record = JsonDocument.Parse(Assert.Single(tool.Output.Lines));
        JsonElement root = record.RootElement;
        // A counter that never counted is left out of a guest's fields and the rows beside them: 0.
        static long Value(JsonElement fields, string name, string value) =>
            fields.TryGetProperty(name, out JsonElement field) ? field.GetProperty(value).GetInt64() : 0;
        foreach (GuestVm guest in new[] { before, after })
        {
            JsonElement fields = root.GetProperty("guests").EnumerateArray().Single(g => g.GetProperty("pid").GetInt32() == guest.Pid).GetProperty("fields");
            foreach ((string name, long count) in guest.ExpectedPerRun())
            {
                long counted = name.Contains('(')
                    ? fields.TryGetProperty(name[..name.IndexOf('(')], out JsonElement parent)
                        ? Value(parent.GetProperty("children"), name[(name.IndexOf('(') + 1)..^1], "total") : 0
                    : Value(fields, name, "total");
                Assert.True(count == counted, $"{guest.Name} {name}: expected {count}, counted {counted}");
            }
        }
        foreach (string name in new[] { "kvm_pio", "kvm_mmio", "kvm_userspace_exit" })
        {
            foreach (string value in new[] { "total", "delta" })
            {
                long host = root.GetProperty("fields").GetProperty(name).GetProperty(value).GetInt64();
                long guests = root.GetProperty("guests").EnumerateArray().Sum(g => Value(g.GetProperty("fields"), name, value));
                long outside = Value(root.GetProperty("outside_vms"), name, value);
                long exited = Value(root.GetProperty("exited_vms"), name, value);
                long unattributed = Value(root.GetProperty("unattributed"), name, value);
                Assert.True(host == guests + outside + exited + unattributed,
                    $"{name} {value}: host {host}, guests {guests} + outside {outside} + exited {exited} + unattributed {unattributed}");
            }
        }
    }

    /// <summary>A VM that has made no event yet has no slot in the kernel's tables, but is listed all the same (its counters, all 0, left out).</summary>
    [Fact]
    public void AGuestWithoutEventsIsListedWithZeros()
    {
        Kvm.Require();
        using var idle = GuestVm.Start($"idle-{Environment.ProcessId}", vcpus: 2, outs: 5, mmio: 0);
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "--json", "-s", "0.2", "--engine", "bpf", "-f", "kvm_pio");
        Assert.True(code == 0, error);
        using JsonDocument record = JsonDocument.Parse(output);
        JsonElement guest = Assert.Single(record.RootElement.GetProperty("guests").EnumerateArray(), g => g.GetProperty("pid").GetInt32() == idle.Pid);
        Assert.Equal(idle.Name, guest.GetProperty("name").GetString());
        Assert.Empty(guest.GetProperty("fields").EnumerateObject());
    }
}
