namespace KvmStat.Sources;

/// <summary>
/// Which fields a source opens, decided above the sources (Stats.FieldSelection: the -f filter, and
/// whether child fields are opened at all): opening a counter costs, so a source opens only these.
/// </summary>
internal interface IFieldSelection
{
    /// <summary>The filter's text, for messages ("no field matches ...").</summary>
    string Pattern { get; }

    /// <summary>The items to open, in their original order: those selected, and the parents of selected children.</summary>
    List<T> Select<T>(IEnumerable<T> available, Func<T, string> name, Func<T, string?> parent);
}
