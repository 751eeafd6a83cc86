using KvmStat.Cli;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>Runs of the whole tool in process that load BPF programs: apart from other tests (their programs would be counted as another's).</summary>
[Collection(BpfCollection.Name)]
public class BpfRunTests
{
    [Fact]
    public void APidThatCannotBeCheckedIsSaid()
    {
        using FixtureRoot fixture = CommandLineTests.UncheckablePid();
        // Said once counting opened: this host's kvm_pio, counted by the BPF engine.
        Kvm.RequireTracepoints();
        const string Real = "/sys/kernel/tracing/events/kvm/kvm_pio";
        fixture.AddTracepoint("kvm_pio", int.Parse(File.ReadAllText($"{Real}/id"), System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText($"{Real}/format"));
        foreach (string[] args in new[] { new[] { "-1", "-p", "801" }, ["-1", "-g", "init"] })
        {
            (int code, _, string error) = CommandLineTests.Run(fixture.Paths, [.. args, "-s", "0.1", "--engine", "bpf", "-f", "kvm_pio"]);
            Assert.True(code == 0, error);
            Assert.Contains("cannot tell whether process 801 (init) runs a KVM VM (neither debugfs nor its descriptors can be read): its events are counted as a VM's.", error);
        }
    }
}
