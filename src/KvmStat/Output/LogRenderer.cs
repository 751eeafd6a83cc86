using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>
/// -l and -L: a header, then one record per interval, each written with one write() as soon as it
/// is complete. Plain logs repeat the banner every 20 records; a CSV header goes to a log file
/// only when the file is empty (so appending to yesterday's file does not repeat it).
/// With -z, records whose deltas are all zero are skipped.
/// </summary>
internal sealed class LogRenderer(OutputSink sink, ILogFormat format, bool skipZeroRecords) : IStatsRenderer
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
        if (format.HeaderOnlyIntoEmptyFile && sink.IsFile && !sink.FileIsEmpty())
            return;
        _line.Clear();
        format.AppendHeader(_line, host);
        sink.Write(_line.Written);
    }

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
