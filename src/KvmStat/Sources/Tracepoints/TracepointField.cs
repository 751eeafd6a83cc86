namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// A countable tracepoint field: a whole tracepoint (<c>kvm_pio</c>), or a child that counts
/// only the events whose reason matches a kernel-side filter (<c>kvm_userspace_exit(IO)</c>).
/// </summary>
internal sealed record TracepointField(string Name, string Tracepoint, string? Filter, string? Parent)
{
    internal bool IsChild => Parent is not null;

    /// <summary>For a child: the record field that holds the reason ("reason", "exit_reason", "esr_ec").</summary>
    internal string? ReasonField { get; init; }

    /// <summary>For a child: the reason it counts; null for the child that counts every other reason.</summary>
    internal long? ReasonValue { get; init; }

    /// <summary>For a child: the reason's name ("HLT" of kvm_exit(HLT)).</summary>
    internal string? Label { get; init; }

    /// <summary>The field as every source of tracepoints gives it.</summary>
    internal StatField ToStatField() => new(Name, Parent, StatKind.Counter, FieldOrigin.Tracepoint, Label: Label);
}
