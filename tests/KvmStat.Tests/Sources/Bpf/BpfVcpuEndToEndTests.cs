using System.Globalization;
using System.Text.Json;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// --vcpus through the published binary against a real guest whose vCPU threads are named as
/// QEMU names them ("CPU N/KVM"): each vCPU's exact counts, in JSON's guests and as one VM's children.
/// </summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class BpfVcpuEndToEndTests
{
    /// <summary>Each guest's "vcpus": every port write and exit of the run under the vCPU that made it, and each exit's reason.</summary>
    [Fact]
    public void JsonGivesEachGuestItsVcpusExactly()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"vcpus-{Environment.ProcessId}", vcpus: 2, outs: 70, mmio: 3);
        BatchWindow.Result batch = BatchWindow.AroundOneRun(guest, "--json", "--vcpus", "-f", "kvm_(pio|userspace_exit)");

        using JsonDocument sample = JsonDocument.Parse(Assert.Single(batch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        JsonElement mine = sample.RootElement.GetProperty("guests").EnumerateArray().Single(g => g.GetProperty("pid").GetInt32() == guest.Pid);
        JsonElement vcpus = mine.GetProperty("vcpus");
        Assert.Equal(["vcpu0", "vcpu1"], vcpus.EnumerateObject().Select(p => p.Name));
        foreach (JsonProperty vcpu in vcpus.EnumerateObject())
        {
            JsonElement fields = vcpu.Value.GetProperty("fields");
            Assert.Equal(70, fields.GetProperty("kvm_pio").GetProperty("total").GetInt64());
            // 70 port writes, 3 MMIO writes and the halt.
            Assert.Equal(74, fields.GetProperty("kvm_userspace_exit").GetProperty("delta").GetInt64());
            // By reason, as the vCPU's thread met them.
            JsonElement reasons = fields.GetProperty("kvm_userspace_exit").GetProperty("children");
            Assert.Equal((70, 3, 1), (reasons.GetProperty("IO").GetProperty("delta").GetInt64(), reasons.GetProperty("MMIO").GetProperty("delta").GetInt64(),
                reasons.GetProperty("HLT").GetProperty("delta").GetInt64()));
        }
        Assert.Equal(0, sample.RootElement.GetProperty("vcpu_reasons_lost").GetInt64());
        Assert.Equal(0, sample.RootElement.GetProperty("vcpus_lost").GetInt64());
    }

    /// <summary>One VM (-p): a child per vCPU of each field, adding up to the parent where only vCPU threads raise it.</summary>
    [Fact]
    public void OneVmsFieldsHaveAChildPerVcpu()
    {
        Kvm.Require();
        using var guest = GuestVm.Start($"vcpus-p-{Environment.ProcessId}", vcpus: 2, outs: 40, mmio: 1);
        BatchWindow.Result batch = BatchWindow.AroundOneRun(guest, "--json", "--vcpus", "-p", guest.Pid.ToString(CultureInfo.InvariantCulture), "-f", "kvm_pio");

        using JsonDocument sample = JsonDocument.Parse(Assert.Single(batch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        JsonElement pio = sample.RootElement.GetProperty("fields").GetProperty("kvm_pio");
        Assert.Equal(80, pio.GetProperty("total").GetInt64());
        JsonElement children = pio.GetProperty("children");
        Assert.Equal(["vcpu0", "vcpu1"], children.EnumerateObject().Select(p => p.Name));
        Assert.All(children.EnumerateObject(), child => Assert.Equal(40, child.Value.GetProperty("total").GetInt64()));
    }
}
