using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>How -l/-L lays out a header and a record.</summary>
internal interface ILogFormat
{
    /// <summary>Plain logs repeat their banner every 20 records, like vmstat; CSV never repeats its header.</summary>
    bool RepeatsHeader { get; }

    /// <summary>A CSV header goes into a log file only when the file is empty (appending to yesterday's file).</summary>
    bool HeaderOnlyIntoEmptyFile { get; }

    void AppendHeader(LineBuilder line, IFieldValues host);

    void AppendRecord(LineBuilder line, IFieldValues host, DateTimeOffset time);

    /// <summary>
    /// What a record gives for a field: a counter's change in the interval, a gauge's value (a
    /// percentile of the interval, pages in use): the change of a latency would read as a latency.
    /// </summary>
    internal static long Value(IFieldValues host, int field) =>
        host.Fields[field].Kind == StatKind.Gauge ? host.Totals[field] : host.Deltas[field];
}
