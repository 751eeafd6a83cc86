using KvmStat.Sources.Tracepoints;

namespace KvmStat.Tests.Sources.Tracepoints;

public class TracepointFieldsTests
{
    private static TracepointField Child(string parent, string reason, long? value) =>
        new($"{parent}({reason})", parent, value is null ? "other" : $"reason=={value}", parent) { ReasonField = "reason", ReasonValue = value, Label = reason };

    /// <summary>A tracepoint's children are found by index, in the engine's order (each index is a counter), whatever their names' order.</summary>
    [Fact]
    public void ChildrenAreLinkedByIndexInTheEnginesOrder()
    {
        var fields = new TracepointFields([
            new TracepointField("kvm_userspace_exit", "kvm_userspace_exit", null, null),
            Child("kvm_userspace_exit", "MMIO", 6),
            new TracepointField("kvm_pio", "kvm_pio", null, null),
            Child("kvm_userspace_exit", "IO", 2),
            Child("kvm_userspace_exit", "OTHER", null),
        ]);
        Assert.Equal([1, 3, 4], fields.ChildrenOf(0));
        Assert.Empty(fields.ChildrenOf(2));
        Assert.Equal(0, fields.Set.ParentOf(3));
        Assert.Equal("IO", fields.Set[3].Label);
        Assert.Equal(5, fields.Count);
        Assert.Same(fields[4], fields.Last());
    }

    /// <summary>A child whose tracepoint is not among the fields is nobody's child: no program would count it under another.</summary>
    [Fact]
    public void AChildWithoutItsParentIsNobodysChild()
    {
        var fields = new TracepointFields([new TracepointField("kvm_pio", "kvm_pio", null, null), Child("kvm_exit", "HLT", 12)]);
        Assert.Empty(fields.ChildrenOf(0));
        Assert.Equal(-1, fields.Set.ParentOf(1));
    }
}
