using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>-1: every field, sorted by name, as the reference prints it ("%-42s%10d%10d": name, total, delta).</summary>
internal sealed class BatchRenderer(OutputSink sink) : IStatsRenderer
{
    private readonly LineBuilder _line = new();

    public void Start(StatsCollector stats)
    {
    }

    public void Render(StatsCollector stats, DateTime timestamp)
    {
        _line.Clear();
        ReadOnlySpan<long> totals = stats.Totals;
        ReadOnlySpan<long> deltas = stats.Deltas;
        foreach (int i in stats.ByName)
        {
            _line.AppendLeft(stats.Fields[i].Name, 42).AppendRight(totals[i], 10).AppendRight(deltas[i], 10).NewLine();
        }
        sink.Write(_line.Written);
    }

    public void Reopened(StatsCollector stats)
    {
    }
}
