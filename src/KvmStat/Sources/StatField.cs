namespace KvmStat.Sources;

/// <summary>
/// One named statistic a source provides. Children name their parent (kvm_exit(HLT) → kvm_exit).
/// <see cref="Unit"/> is set where the source knows it ("ns", "us", "bytes", "cycles", "boolean").
/// </summary>
internal sealed record StatField(string Name, string? Parent, StatKind Kind, FieldOrigin Origin, string? Unit = null)
{
    internal bool IsChild => Parent is not null;

    /// <summary>What a child adds to its parent's name: "HLT" for kvm_exit(HLT), "vcpu0" for exits(vcpu0).</summary>
    internal string ChildLabel => Parent is not null && Name.Length > Parent.Length + 1 && Name[Parent.Length] == '('
        ? Name[(Parent.Length + 1)..^1]
        : Name;
}
