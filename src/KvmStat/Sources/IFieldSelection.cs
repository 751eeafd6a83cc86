namespace KvmStat.Sources;

/// <summary>
/// Which fields a source shows, decided above the sources (Stats.FieldSelection: the -f filter, and
/// whether child fields are shown at all). Where opening a field costs (a perf counter, a debugfs
/// file), a source opens only these; the BPF engine counts every field of a tracepoint it counts
/// (its children cost nothing more) and shows these.
/// </summary>
internal interface IFieldSelection
{
    /// <summary>The filter's text, for messages ("no field matches ...").</summary>
    string Pattern { get; }

    /// <summary>The items to open, in their original order: those selected, and the parents of selected children.</summary>
    List<T> Select<T>(IEnumerable<T> available, Func<T, string> name, Func<T, string?> parent);
}
