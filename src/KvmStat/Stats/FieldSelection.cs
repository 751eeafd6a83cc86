using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// Which fields a source opens: those the filter selects (children bring their parents), and
/// children only with <see cref="Children"/> (every output and the screen count them; the perf
/// engine's per-VM counters and -f help's list of parents leave them out).
/// </summary>
internal sealed record FieldSelection(FieldFilter Filter, bool Children) : IFieldSelection
{
    public string Pattern => Filter.Pattern;

    public List<T> Select<T>(IEnumerable<T> available, Func<T, string> name, Func<T, string?> parent)
    {
        List<T> selected = Filter.Select(available, name, parent);
        if (!Children)
            selected.RemoveAll(item => parent(item) is not null);
        return selected;
    }
}
