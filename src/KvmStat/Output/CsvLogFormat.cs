using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// -c: "timestamp,name,..." then "YYYY-MM-DD HH:MM:SS,n,...". A name with a comma, quote, space
/// or line break (a debugfs file name can be anything) is quoted as RFC 4180 says.
/// </summary>
internal sealed class CsvLogFormat : ILogFormat
{
    public bool RepeatsHeader => false;

    public bool HeaderOnlyIntoEmptyFile => true;

    public void AppendHeader(LineBuilder line, IFieldValues host)
    {
        line.Append("timestamp");
        foreach (int i in host.Fields.ByName)
            line.Append(',').Append(Quoted(host.Fields[i].Name));
        line.NewLine();
    }

    internal static string Quoted(string name) =>
        name.AsSpan().IndexOfAny(",\"\r\n ") < 0 ? name : "\"" + name.Replace("\"", "\"\"") + "\"";

    public void AppendRecord(LineBuilder line, IFieldValues host, DateTimeOffset time)
    {
        line.AppendTimestamp(time);
        foreach (int i in host.Fields.ByName)
            line.Append(',').Append(ILogFormat.Value(host, i));
        line.NewLine();
    }
}
