using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// -l and -L: a header, then one record per interval, each written with one write() as soon as it
/// is complete. Plain logs repeat the banner every 20 records; a CSV header goes to a log file
/// only when the file is empty (so appending to yesterday's file does not repeat it).
/// With -z, records whose deltas are all zero are skipped.
/// </summary>
/// <param name="warn">Where a log file that begins with another header is said (its columns no longer name the records appended).</param>
internal sealed class LogRenderer(OutputSink sink, ILogFormat format, bool skipZeroRecords, Action<string>? warn = null) : IStatsRenderer
{
    internal const int BannerRepeat = 20;

    private readonly LineBuilder _line = new();
    private int _recordsSinceHeader;
    private bool _headerJustWritten;

    public void Start(Snapshot snapshot) => WriteHeader(snapshot.Host);

    public void Reopened(Snapshot snapshot) => WriteHeader(snapshot.Host);

    private void WriteHeader(IFieldValues host)
    {
        _recordsSinceHeader = 0;
        _headerJustWritten = true;
        _line.Clear();
        format.AppendHeader(_line, host);
        if (format.HeaderOnlyIntoEmptyFile && sink.IsFile && !sink.FileIsEmpty())
        {
            // Another run's fields (or another format) began the file: its header would misname these columns.
            if (sink.FirstLine() is string first && !_line.Written.TrimEnd((byte)'\n').SequenceEqual(System.Text.Encoding.UTF8.GetBytes(first)))
            {
                warn?.Invoke($"log file \"{Text.Escape(sink.Path!)}\" begins with another header than these records' (\"{Text.Escape(Shorten(first))}\"): " +
                    "its columns do not name them. Give -L another file for these fields, or the -f of the run that began it.");
            }
            return;
        }
        sink.Write(_line.Written);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";

    public void Render(Snapshot snapshot)
    {
        IFieldValues host = snapshot.Host;
        if (skipZeroRecords && !Counts.AnyNonZero(host.Deltas))
            return;
        _line.Clear();
        if (format.RepeatsHeader && !_headerJustWritten && _recordsSinceHeader % BannerRepeat == 0)
            format.AppendHeader(_line, host);
        format.AppendRecord(_line, host, snapshot.Time);
        sink.Write(_line.Written);
        _recordsSinceHeader++;
        _headerJustWritten = false;
    }
}
