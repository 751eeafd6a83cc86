using KvmStat.Cli;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>--doctor on fixture hosts: what it finds and says, and its exit status.</summary>
public class DoctorTests
{
    private static (int Code, string[] Lines) Run(FixtureRoot fixture)
    {
        var output = new StringWriter();
        int code = new Doctor(fixture.Paths, output, TimeProvider.System).Run(TimeSpan.Zero);
        return (code, output.ToString().TrimEnd('\n').Split('\n'));
    }

    private static string Line(string[] lines, string check) =>
        Assert.Single(lines, l => l.Length > 6 && l[6..].StartsWith(check + " ", StringComparison.Ordinal));

    [Fact]
    public void AHostWithoutTracefsOrKvmFailsAndSaysHowToFixIt()
    {
        using var fixture = new FixtureRoot();
        Directory.Delete(fixture.Paths.Map("/sys/module/kvm"));
        (int code, string[] lines) = Run(fixture);
        Assert.Equal(1, code);
        Assert.StartsWith("fail  KVM                   no /dev/kvm; modules: none", Line(lines, "KVM"));
        Assert.Contains("mount -t tracefs", Line(lines, "tracefs"));
        Assert.StartsWith("fail  debugfs", Line(lines, "debugfs"));
        Assert.StartsWith("warn  VMs                   none running", Line(lines, "VMs"));
    }

    [Fact]
    public void AHostWithTracepointsDebugfsAndAVm()
    {
        using var fixture = new FixtureRoot();
        fixture.WriteFile("/dev/kvm", "");
        Directory.CreateDirectory(fixture.Paths.Map("/sys/module/kvm_intel"));
        fixture.AddTracepoint("kvm_exit", 1, FixtureRoot.TestData("kvm_exit.format"));
        fixture.AddTracepoint("kvm_userspace_exit", 2, FixtureRoot.TestData("kvm_userspace_exit.format"));
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("1234-11/exits", 5);
        fixture.AddProcess(1234, ["qemu-system-x86_64", "-name", "web\u001b[2J"]);
        (int code, string[] lines) = Run(fixture);
        Assert.Equal("ok    KVM                   /dev/kvm present; modules: kvm, kvm_intel", Line(lines, "KVM"));
        Assert.Equal("ok    exit reasons          Vmx", Line(lines, "exit reasons"));
        Assert.Equal($"ok    tracefs               {fixture.Paths.Map("/sys/kernel/tracing")}: 2 kvm tracepoints; exit-reason names from the kernel's format files", Line(lines, "tracefs"));
        Assert.StartsWith("ok    debugfs", Line(lines, "debugfs"));
        Assert.Contains("1 statistics readable", Line(lines, "debugfs"));
        Assert.Contains("system-wide counting of 2 tracepoints on 2 CPUs needs 36", Line(lines, "open files"));
        Assert.Equal("ok    VMs                   1 running", Line(lines, "VMs"));
        string vm = Assert.Single(lines, l => l.Contains("pid 1234"));
        // The engine is this host's (BPF programs attach to the kernel's tracepoints, whatever the fixture).
        string reach = Line(lines, "engine").StartsWith("ok    engine                BPF", StringComparison.Ordinal) ? "per process, BPF" : "per thread";
        Assert.Contains($@"(web\e[2J) tracepoints ({reach}); debugfs folder; no held stats descriptors; no QMP socket it listens on named on its command line", vm);
        Assert.Equal(0, code);
    }
}
