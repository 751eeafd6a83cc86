using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>-c: "timestamp,name,..." then "YYYY-MM-DD HH:MM:SS,n,...".</summary>
internal sealed class CsvLogFormat : ILogFormat
{
    public bool RepeatsHeader => false;

    public bool HeaderOnlyIntoEmptyFile => true;

    public void AppendHeader(LineBuilder line, IFieldValues host)
    {
        line.Append("timestamp");
        foreach (int i in host.Fields.ByName)
            line.Append(',').Append(host.Fields[i].Name);
        line.NewLine();
    }

    public void AppendRecord(LineBuilder line, IFieldValues host, DateTimeOffset time)
    {
        line.AppendTimestamp(time);
        ReadOnlySpan<long> deltas = host.Deltas;
        foreach (int i in host.Fields.ByName)
            line.Append(',').Append(deltas[i]);
        line.NewLine();
    }
}
