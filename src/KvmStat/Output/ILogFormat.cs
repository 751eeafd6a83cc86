using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>How -l/-L lays out a header and a record.</summary>
internal interface ILogFormat
{
    /// <summary>Plain logs repeat their banner every 20 records, like vmstat; CSV never repeats its header.</summary>
    bool RepeatsHeader { get; }

    void AppendHeader(LineBuilder line, StatsCollector stats);

    void AppendRecord(LineBuilder line, StatsCollector stats, DateTime timestamp);
}
