namespace KvmStat.Sources;

/// <summary>How a field's numbers behave over time.</summary>
internal enum StatKind
{
    /// <summary>Only grows: shown as a total since the start and a delta per interval.</summary>
    Counter,

    /// <summary>An instant value (pages in use, vCPUs blocked): shown as it is, never differenced.</summary>
    Gauge,
}

/// <summary>One named statistic a source provides. Children name their parent (kvm_exit(HLT) → kvm_exit).</summary>
internal sealed record StatField(string Name, string? Parent, StatKind Kind)
{
    internal bool IsChild => Parent is not null;
}
