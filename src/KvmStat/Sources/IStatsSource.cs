namespace KvmStat.Sources;

/// <summary>
/// A provider of statistics: tracepoints, debugfs, binary stats. It decides at construction which
/// fields it offers; <see cref="Read"/> is the hot path of every refresh and must not allocate.
/// </summary>
internal interface IStatsSource : IDisposable
{
    /// <summary>Short name for messages: "tracepoints" (with BPF "tracepoints (BPF)"), "debugfs".</summary>
    string Name { get; }

    IReadOnlyList<StatField> Fields { get; }

    /// <summary>
    /// Writes one value per field: for counters the count since the source started (or, for
    /// debugfs with -i, since each VM started), for gauges the current value.
    /// </summary>
    void Read(Span<long> values);
}
