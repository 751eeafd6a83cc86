using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// Which fields a source opens: those the filter selects (children bring their parents), and
/// children at all only when they will be shown (the screen hides them until 'x').
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
