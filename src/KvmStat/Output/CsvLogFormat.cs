using KvmStat.Stats;

namespace KvmStat.Output;

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
