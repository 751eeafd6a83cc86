using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>The reference's plain log: "name name ... " then "YYYY-MM-DD HH:MM:SS" and " %9d" per field (<see cref="ILogFormat.Value"/>).</summary>
internal sealed class PlainLogFormat : ILogFormat
{
    public bool RepeatsHeader => true;

    public bool HeaderOnlyIntoEmptyFile => false;

    public void AppendHeader(LineBuilder line, IFieldValues host)
    {
        foreach (int i in host.Fields.ByName)
            line.Append(host.Fields[i].Name).Append(' ');
        line.NewLine();
    }

    public void AppendRecord(LineBuilder line, IFieldValues host, DateTimeOffset time)
    {
        line.AppendTimestamp(time);
        foreach (int i in host.Fields.ByName)
            line.Append(' ').AppendRight(ILogFormat.Value(host, i), 9);
        line.NewLine();
    }
}
