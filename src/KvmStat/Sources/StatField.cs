namespace KvmStat.Sources;

/// <summary>
/// One named statistic a source provides. A child names its parent and carries its own label
/// (kvm_exit(HLT): parent kvm_exit, label HLT; exits(vcpu0): parent exits, label vcpu0).
/// <see cref="Unit"/> is set where the source knows it ("ns", "us", "bytes", "cycles", "boolean").
/// Where fields stand together, a <see cref="FieldSet"/> links children to parents by index.
/// </summary>
internal sealed record StatField(string Name, string? Parent, StatKind Kind, FieldOrigin Origin, string? Unit = null, string? Label = null)
{
    internal bool IsChild => Parent is not null;

    /// <summary>A child that counts one vCPU (--vcpus with -p), beside a field's reasons: another set of its children.</summary>
    internal bool IsVcpu { get; init; }

    /// <summary>What a child adds to its parent's name ("HLT", "vcpu0"); a parent's own name.</summary>
    internal string ChildLabel => Label ?? Name;

    /// <summary>A child's name, as every source, output and -f writes it: "parent(label)".</summary>
    internal static string ChildName(string parent, string label) => $"{parent}({label})";

    /// <summary>A child field of <paramref name="parent"/>: named <see cref="ChildName"/>, with its label.</summary>
    internal static StatField Child(string parent, string label, StatKind kind, FieldOrigin origin, string? unit = null) =>
        new(ChildName(parent, label), parent, kind, origin, unit, label);
}
