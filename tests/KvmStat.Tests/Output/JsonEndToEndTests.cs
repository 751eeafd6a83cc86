using System.Text.Json;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Output;

/// <summary>--json through the published binary: every line is JSON, and hostile names survive.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class JsonEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private const string Hostile = "js\"on\\ \u0001\u001b[31m\n\u202e,,x";

    [Fact]
    public void OneSampleWithGuestsAndExactCounts()
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Hostile, vcpus: 2, outs: 70, mmio: 3);
        BatchWindow.Result batch = BatchWindow.AroundOneRun(guest, "--json", "-f", "kvm_(pio|userspace_exit)");

        string line = Assert.Single(batch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using JsonDocument sample = JsonDocument.Parse(line);
        JsonElement root = sample.RootElement;
        Assert.InRange(root.GetProperty("interval_seconds").GetDouble(), batch.Seconds, batch.Seconds + 1);
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("timestamp").GetString(), out _));
        JsonElement fields = root.GetProperty("fields");
        Assert.Equal(140, fields.GetProperty("kvm_pio").GetProperty("total").GetInt64());
        Assert.Equal(140, fields.GetProperty("kvm_pio").GetProperty("delta").GetInt64());
        JsonElement reasons = fields.GetProperty("kvm_userspace_exit").GetProperty("children");
        Assert.Equal(140, reasons.GetProperty("IO").GetProperty("total").GetInt64());
        Assert.Equal(6, reasons.GetProperty("MMIO").GetProperty("total").GetInt64());
        Assert.Equal(2, reasons.GetProperty("HLT").GetProperty("total").GetInt64());

        // The comma in the guest's -name was written ",," for QEMU: the name itself has one.
        JsonElement mine = root.GetProperty("guests").EnumerateArray().Single(g => g.GetProperty("pid").GetInt32() == guest.Pid);
        Assert.Equal(Hostile.Replace(",,", ","), mine.GetProperty("name").GetString());
        Assert.Equal(140, mine.GetProperty("fields").GetProperty("kvm_pio").GetProperty("total").GetInt64());
    }

    [Fact]
    public void ALogOfBinaryStatisticsWithUnitsAndVcpus()
    {
        Kvm.Require();
        using var guest = GuestVm.Start(Hostile, vcpus: 2, outs: 10, mmio: 1, holdStats: true);
        using ChildProcess tool = ChildProcess.StartTool("-l", "--json", "-s", "0.2", "--binary-stats", "--verbose", "-p", guest.Pid.ToString(),
            "-f", $"(exits|halt_wait|halt_exits|{Kvm.HostCausedExits})");
        tool.WaitUntilCounting();
        guest.Run();
        long Sum(IEnumerable<string> lines, string field) =>
            lines.Sum(l => JsonDocument.Parse(l).RootElement.GetProperty("fields").GetProperty(field).GetProperty("delta").GetInt64());
        // The halts are the program's last exits: once both are logged, so are the others.
        tool.Output.WaitFor(lines => Sum(lines, "halt_exits") == 2, s_timeout, "both halts logged");
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        string[] records = tool.Output.Lines;
        // 10 port writes, 1 MMIO write and a halt on each vCPU, plus what the host caused.
        Assert.InRange(Sum(records, "exits"), 24, 24 + Kvm.HostCausedExits.Split('|').Sum(name => Sum(records, name)));

        foreach (string line in tool.Output.Lines)
        {
            using JsonDocument sample = JsonDocument.Parse(line);
            JsonElement root = sample.RootElement;
            Assert.Equal(guest.Pid, root.GetProperty("pid").GetInt32());
            Assert.Equal(Hostile.Replace(",,", ","), root.GetProperty("name").GetString());
            JsonElement fields = root.GetProperty("fields");
            Assert.Equal("ns", fields.GetProperty("halt_wait_ns").GetProperty("unit").GetString());
            Assert.Equal("us", fields.GetProperty("halt_wait_hist_p99_us").GetProperty("unit").GetString());
            Assert.True(fields.GetProperty("halt_wait_hist_p99_us").TryGetProperty("value", out _));
            Assert.Equal(2, fields.GetProperty("exits").GetProperty("children").EnumerateObject().Count());
        }
    }

    [Fact]
    public void JsonNeedsANonInteractiveModeAndNoCsv()
    {
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, "--json");
        Assert.Equal(2, code);
        Assert.Contains("--json requires -1", error);
        (code, _, error) = ChildProcess.RunTool(s_timeout, "--json", "-l", "-c");
        Assert.Equal(2, code);
        Assert.Contains("use one of them", error);
    }
}
