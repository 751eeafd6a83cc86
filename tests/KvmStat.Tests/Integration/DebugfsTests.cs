using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Integration;

/// <summary>The real debugfs of this host, whose cumulative counters kernel lockdown blocks.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class DebugfsTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private static bool CountersLockedDown()
    {
        try
        {
            File.ReadAllText("/sys/kernel/debug/kvm/exits");
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Fact]
    public void LockedCountersAreNamedOnceAndNeverPrintedAsZero()
    {
        Kvm.Require();
        Assert.SkipUnless(CountersLockedDown(), "debugfs counters are readable on this host");
        using var guest = GuestVm.Start($"dbg-{Environment.ProcessId}", vcpus: 1, outs: 10, mmio: 1);
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "-d", "-s", "0.1", "-p", guest.Pid.ToString());

        Assert.Equal(0, code);
        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(output);
        Assert.DoesNotContain("exits", fields.Keys);
        Assert.DoesNotContain("halt_exits", fields.Keys);
        Assert.Contains("pages_4k", fields.Keys);
        // Two lines: what is left out and why, then where the same counters can be read.
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("debugfs statistics are left out", lines[0]);
        Assert.Contains("lockdown", lines[0]);
        Assert.Contains("KVM's binary statistics have the same counters", lines[1]);
    }

    [Fact]
    public void DebugfsAndTracepointsTogether()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"both-{Environment.ProcessId}", vcpus: 1, outs: 10, mmio: 1);
        using ChildProcess tool = ChildProcess.StartTool("-1", "-d", "-t", "--verbose", "-p", guest.Pid.ToString());
        tool.WaitUntilCounting();
        guest.Run();
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(tool.Output.Text);
        Assert.Equal(10, fields["kvm_pio"].Total);
        Assert.Contains("pages_4k", fields.Keys);
    }
}
