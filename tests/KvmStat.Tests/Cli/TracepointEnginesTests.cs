using KvmStat.Cli;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Tests.Cli;

public class TracepointEnginesTests
{
    private static readonly TracepointField[] s_catalog =
    [
        new("kvm_exit", "kvm_exit", null, null),
        new("kvm_pio", "kvm_pio", null, null),
        new("kvm_userspace_exit", "kvm_userspace_exit", null, null),
        new("kvm_userspace_exit(IO)", "kvm_userspace_exit", "reason==2", "kvm_userspace_exit") { ReasonField = "reason", ReasonValue = 2, Label = "IO" },
    ];

    private static string[] Selected(string pattern, params string[] vcpus) =>
        [.. TracepointEngines.SelectFields(new FieldSelection(FieldFilter.Create(pattern), Children: true), s_catalog, vcpus).Select(f => f.Name)];

    /// <summary>-p with --vcpus: a vCPU child named by -f brings its parent, as any child does (the children themselves are made as the VM's source opens).</summary>
    [Fact]
    public void AVcpuChildNamedByFKeepsItsParent()
    {
        Assert.Equal(["kvm_pio", "kvm_userspace_exit"], Selected(@"kvm_pio\(vcpu|kvm_userspace_exit\(vcpu1", "vcpu0", "vcpu1"));
        Assert.Equal(["kvm_exit", "kvm_pio", "kvm_userspace_exit"], Selected(@".*\(vcpu0", "vcpu0"));
        // Without the VM's vCPUs (no -p, or none known) no such child exists.
        Assert.Empty(Selected(@"kvm_pio\(vcpu"));
        Assert.Empty(Selected(@"kvm_pio\(vcpu2", "vcpu0", "vcpu1"));
        // What -f names otherwise is kept as ever, a reason with its parent, in the catalogue's order.
        Assert.Equal(["kvm_pio", "kvm_userspace_exit", "kvm_userspace_exit(IO)"], Selected(@"kvm_userspace_exit\(IO|kvm_pio\(vcpu0", "vcpu0"));
    }
}
