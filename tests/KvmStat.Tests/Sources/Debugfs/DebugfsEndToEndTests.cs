using KvmStat.Host;
using KvmStat.Sources.Debugfs;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Debugfs;

/// <summary>The real debugfs of this host, whose cumulative counters kernel lockdown blocks.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class DebugfsEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Under kernel lockdown the cumulative counters are named once and left out, never printed as
    /// zero; where they are readable, they are printed with the guest's exits.
    /// </summary>
    [Fact]
    public void LockedCountersAreNamedOnceAndNeverPrintedAsZero()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"dbg-{Environment.ProcessId}", vcpus: 1, outs: 10, mmio: 1);
        guest.Run();
        // -i: the guest ran before the tool started, and a VM's debugfs counters count from the start without it.
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "-d", "-i", "-s", "0.1", "-p", guest.Pid.ToString());

        Assert.Equal(0, code);
        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(output);
        if (!Kvm.DebugfsCountersLockedDown())
        {
            Assert.True(fields["exits"].Total >= 11, output);
            Assert.Contains("pages_4k", fields.Keys);
            Assert.Empty(error);
            return;
        }
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

    /// <summary>The doctor names the lockdown where it blocks debugfs's counters, and says they are readable where not.</summary>
    [Fact]
    public void TheDoctorNamesTheLockdown()
    {
        Kvm.Require();
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "--doctor");
        Assert.Equal(0, code);
        Assert.Empty(error);
        if (!Kvm.DebugfsCountersLockedDown())
        {
            Assert.Single(output.Split('\n'), l => l.StartsWith("ok    debugfs", StringComparison.Ordinal) && l.Contains("statistics readable", StringComparison.Ordinal));
            return;
        }
        string debugfs = Assert.Single(output.Split('\n'), l => l.StartsWith("warn  debugfs", StringComparison.Ordinal));
        // The statistics -d reads: not the nanosecond sums, which the reference leaves out too.
        int total = DebugfsSource.StatNames(new HostPaths()).Count;
        Assert.Matches($@"/sys/kernel/debug/kvm: \d+ of {total} statistics blocked \(EPERM: kernel lockdown", debugfs);
        Assert.Contains("KVM's binary statistics have the same counters", debugfs);
    }

    [Fact]
    public void DebugfsAndTracepointsTogether()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"both-{Environment.ProcessId}", vcpus: 1, outs: 10, mmio: 1);
        BatchWindow.Result batch = BatchWindow.AroundOneRun(guest, "-d", "-t", "-p", guest.Pid.ToString());
        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(batch.Output);
        Assert.Equal(10, fields["kvm_pio"].Total);
        Assert.Contains("pages_4k", fields.Keys);
    }
}
