using System.Net.Sockets;
using System.Text;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

/// <summary>KVM's binary statistics for real: descriptors held by the test guest, and QEMU's QMP.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class BinaryStatsEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private static void RequireQemu()
    {
        Kvm.Require();
        Assert.SkipUnless(QemuVm.Available, "qemu-system-x86 is not installed (./test.sh installs it)");
    }

    private static long HostCaused(Func<string, long> value, string suffix = "") =>
        Kvm.HostCausedExits.Split('|').Sum(name => value(name + suffix));

    [Fact]
    public void HeldDescriptorsGiveExactPerVcpuCounts()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"held-{Environment.ProcessId}", vcpus: 2, outs: 120, mmio: 9, holdStats: true);
        BatchWindow.Result batch = BatchWindow.AroundOneRun(guest,
            "--binary-stats", "-p", guest.Pid.ToString(), "-f", $"(exits|mmio_exits|halt_exits|{Kvm.HostCausedExits})");

        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(batch.Output);
        // Each vCPU: 120 port writes, 9 MMIO writes and a halt, each one exit; the host may add some.
        for (int vcpu = 0; vcpu < 2; vcpu++)
        {
            long hostCaused = HostCaused(name => fields[name].Total, $"(vcpu{vcpu})");
            Assert.InRange(fields[$"exits(vcpu{vcpu})"].Total, 130, 130 + hostCaused);
            Assert.Equal(9, fields[$"mmio_exits(vcpu{vcpu})"].Total);
            Assert.Equal(1, fields[$"halt_exits(vcpu{vcpu})"].Total);
        }
        Assert.Equal(fields["exits(vcpu0)"].Total + fields["exits(vcpu1)"].Total, fields["exits"].Total);
        Assert.Equal(fields["exits"].Total, fields["exits"].Delta);
        Assert.Equal(18, fields["mmio_exits"].Total);
        Assert.Equal(2, fields["halt_exits"].Total);

        // The guest's own reading of the same descriptors agrees.
        Dictionary<string, long> own = guest.OwnStats();
        Assert.Equal(own["kvm-" + guest.Pid + "/vcpu-0 exits"], fields["exits(vcpu0)"].Total);
        Assert.Equal(own["kvm-" + guest.Pid + "/vcpu-1 mmio_exits"], fields["mmio_exits(vcpu1)"].Total);
    }

    [Fact]
    public void HeldDescriptorsInALogByGuestName()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"heldlog-{Environment.ProcessId}", vcpus: 1, outs: 40, mmio: 2, holdStats: true);
        using ChildProcess tool = ChildProcess.StartTool(
            "--binary-stats", "-l", "-s", "0.2", "--verbose", "-g", guest.Name, "-f", $"(exits|halt_exits|{Kvm.HostCausedExits})$");
        tool.WaitUntilCounting();
        guest.Run();
        // The halt is the program's last exit: once it is logged, so are the others.
        tool.Output.WaitFor(lines => OutputParsers.SumLog(lines, csv: false).GetValueOrDefault("halt_exits") == 1, s_timeout, "the halt logged");
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
        Assert.Equal("exits halt_exits irq_exits preemption_other preemption_reported request_irq_exits signal_exits ", tool.Output.Lines[0]);
        Dictionary<string, long> sums = OutputParsers.SumLog(tool.Output.Lines, csv: false);
        Assert.InRange(sums["exits"], 43, 43 + HostCaused(name => sums[name]));
        Assert.Equal(1, sums["halt_exits"]);
    }

    [Fact]
    public void WithoutHeldDescriptorsTheFixIsNamed()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"noheld-{Environment.ProcessId}", vcpus: 1, outs: 1, mmio: 1);
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, "--binary-stats", "-1", "-p", guest.Pid.ToString());
        Assert.Equal(1, code);
        Assert.Contains($"process {guest.Pid} keeps no KVM binary statistics descriptors open", error);
        Assert.Contains("--qmp", error);
    }

    [Fact]
    public void QmpGivesPerVcpuExitsOfARealQemuAndReleasesTheSocket()
    {
        RequireQemu();
        using var qemu = new QemuVm($"qmp-{Environment.ProcessId}", vcpus: 2);
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "--qmp", qemu.QmpSocket, "-1", "-s", "1", "-f", "(exits|halt_wait_hist|pages_4k)");
        Assert.Equal(0, code);
        Dictionary<string, (long Total, long Delta)> fields = OutputParsers.Batch(output);
        Assert.True(fields["exits"].Total > 0, $"no exits counted:\n{output}\n{error}");
        Assert.Equal(fields["exits"].Total, fields["exits(vcpu0)"].Total + fields["exits(vcpu1)"].Total);
        Assert.Contains("halt_wait_hist_p50_us", fields.Keys);
        Assert.Contains("halt_wait_hist_p99_us", fields.Keys);
        Assert.Contains("pages_4k", fields.Keys);

        // The tool held the one QMP client slot only for its queries: a new client is greeted at once.
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 2000 };
        socket.Connect(new UnixDomainSocketEndPoint(qemu.QmpSocket));
        byte[] greeting = new byte[256];
        int n = socket.Receive(greeting);
        Assert.StartsWith("{\"QMP\"", Encoding.ASCII.GetString(greeting, 0, n));
    }

    [Fact]
    public void QmpAutoFindsTheSocketAndWarnsAboutOldQemuInterruptions()
    {
        RequireQemu();
        using var qemu = new QemuVm($"auto-{Environment.ProcessId}", vcpus: 1);
        long before = qemu.VcpuStatistic("exits");
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "--qmp", "auto", "-g", qemu.Name, "-1", "-s", "0.5", "-f", "exits$");
        long after = qemu.VcpuStatistic("exits");
        Assert.Equal(0, code);
        // SeaBIOS exits all the time (hundreds a second while it boots, then on every timer tick as
        // it idles in hlt): half a second of it has exits, all within what QEMU itself reports
        // around the tool's run.
        long counted = OutputParsers.Batch(output)["exits"].Total;
        Assert.InRange(counted, 1, after - before);
        // Only a QEMU before 8.1 interrupts its vCPUs for query-stats.
        if (QemuVm.InstalledVersion >= new Version(8, 1))
        {
            Assert.DoesNotContain("query-stats", error);
            return;
        }
        Assert.Contains("makes every vCPU leave the guest for each query-stats (fixed in 8.1)", error);
        Assert.Contains("2 times a second", error);
    }

    [Fact]
    public void LockedDebugfsOffersTheBinaryStatistics()
    {
        RequireQemu();
        using var qemu = new QemuVm($"hint-{Environment.ProcessId}", vcpus: 1);
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-d", "-f", "exits", "-1");
        // Whether the counters are locked is asked of the kernel, not of the tool under test.
        if (!Kvm.DebugfsCountersLockedDown())
        {
            Assert.Equal(0, code);
            Assert.Contains("exits", OutputParsers.Batch(output).Keys);
            Assert.DoesNotContain("--qmp auto", error);
            return;
        }
        Assert.Equal(1, code);
        Assert.Contains("lockdown", error);
        Assert.Contains("add --qmp auto", error);
    }

    [Fact]
    public void DoctorReportsWhatReachesEachVm()
    {
        RequireQemu();
        using var qemu = new QemuVm($"doc-{Environment.ProcessId}", vcpus: 1);
        using var guest = GuestVm.Start($"docg-{Environment.ProcessId}", vcpus: 2, outs: 1, mmio: 1, holdStats: true);
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "--doctor");
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Contains("tracefs", output);
        Assert.Contains("kvm_exit", output);
        string qemuLine = Assert.Single(output.Split('\n'), l => l.Contains($"pid {qemu.Pid}"));
        Assert.Contains($"QMP {qemu.QmpSocket} (QEMU ", qemuLine);
        string guestLine = Assert.Single(output.Split('\n'), l => l.Contains($"pid {guest.Pid}"));
        Assert.Contains("3 held stats descriptors (--binary-stats)", guestLine);
    }
}
