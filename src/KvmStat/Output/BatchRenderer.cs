using KvmStat.Stats;

namespace KvmStat.Output;

/// <summary>-1: every field, sorted by name, as the reference prints it ("%-42s%10d%10d": name, total, delta).</summary>
internal sealed class BatchRenderer(OutputSink sink) : IStatsRenderer
{
    private readonly LineBuilder _line = new();

    public void Start(Snapshot snapshot)
    {
    }

    public void Render(Snapshot snapshot)
    {
        IFieldValues host = snapshot.Host;
        _line.Clear();
        ReadOnlySpan<long> totals = host.Totals;
        ReadOnlySpan<long> deltas = host.Deltas;
        foreach (int i in host.Fields.ByName)
            _line.AppendLeft(host.Fields[i].Name, 42).AppendRight(totals[i], 10).AppendRight(deltas[i], 10).NewLine();
        sink.Write(_line.Written);
    }

    public void Reopened(Snapshot snapshot)
    {
    }
}
