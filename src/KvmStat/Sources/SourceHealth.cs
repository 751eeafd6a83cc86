namespace KvmStat.Sources;

/// <summary>
/// Whether a source (and, for sources that reach several places, one of them: a QMP socket) can be
/// read now, and if not why, in the words the tool would warn with.
/// </summary>
internal readonly record struct SourceHealth(string Source, string Target, string? Problem)
{
    /// <summary>The sources' names, as health (kvm_stat_source_up's source, JSON's down) and messages give them.</summary>
    internal const string Tracepoints = "tracepoints", Debugfs = "debugfs", ExitLatency = "exit latency";

    internal bool Up => Problem is null;
}
