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

/// <summary>The reference's plain log: "name name ... " then "YYYY-MM-DD HH:MM:SS" and " %9d" per field.</summary>
internal sealed class PlainLogFormat : ILogFormat
{
    public bool RepeatsHeader => true;

    public void AppendHeader(LineBuilder line, StatsCollector stats)
    {
        foreach (int i in stats.ByName)
            line.Append(stats.Fields[i].Name).Append(' ');
        line.NewLine();
    }

    public void AppendRecord(LineBuilder line, StatsCollector stats, DateTime timestamp)
    {
        line.AppendTimestamp(timestamp);
        ReadOnlySpan<long> deltas = stats.Deltas;
        foreach (int i in stats.ByName)
            line.Append(' ').AppendRight(deltas[i], 9);
        line.NewLine();
    }
}

/// <summary>-c: "timestamp,name,..." then "YYYY-MM-DD HH:MM:SS,n,...".</summary>
internal sealed class CsvLogFormat : ILogFormat
{
    public bool RepeatsHeader => false;

    public void AppendHeader(LineBuilder line, StatsCollector stats)
    {
        line.Append("timestamp");
        foreach (int i in stats.ByName)
            line.Append(',').Append(stats.Fields[i].Name);
        line.NewLine();
    }

    public void AppendRecord(LineBuilder line, StatsCollector stats, DateTime timestamp)
    {
        line.AppendTimestamp(timestamp);
        ReadOnlySpan<long> deltas = stats.Deltas;
        foreach (int i in stats.ByName)
            line.Append(',').Append(deltas[i]);
        line.NewLine();
    }
}
