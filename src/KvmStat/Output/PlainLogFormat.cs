using KvmStat.Stats;

namespace KvmStat.Output;

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
