namespace KvmStat.Sources;

/// <summary>
/// The fields of a reading, linked once when built: each child's parent as an index, each
/// parent's children, and the orders outputs show them in. Nothing downstream parses names.
/// </summary>
internal sealed class FieldSet
{
    private readonly StatField[] _fields;
    private readonly int[] _parents;
    private readonly int[][] _children;
    private readonly int[] _byName;
    private readonly int[] _topLevel;

    internal FieldSet(IReadOnlyList<StatField> fields)
    {
        _fields = [.. fields];
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _fields.Length; i++)
            byName.TryAdd(_fields[i].Name, i);
        _parents = new int[_fields.Length];
        var children = new List<int>[_fields.Length];
        var top = new List<int>();
        for (int i = 0; i < _fields.Length; i++)
        {
            _parents[i] = _fields[i].Parent is string parent && byName.TryGetValue(parent, out int p) && p != i ? p : -1;
            if (_parents[i] >= 0)
                (children[_parents[i]] ??= []).Add(i);
            else
                top.Add(i);
        }
        Comparison<int> byFieldName = (a, b) => string.CompareOrdinal(_fields[a].Name, _fields[b].Name);
        _byName = [.. Enumerable.Range(0, _fields.Length)];
        Array.Sort(_byName, byFieldName);
        top.Sort(byFieldName);
        _topLevel = [.. top];
        _children = new int[_fields.Length][];
        for (int i = 0; i < _fields.Length; i++)
        {
            children[i]?.Sort(byFieldName);
            _children[i] = children[i] is { } list ? [.. list] : [];
        }
    }

    internal static FieldSet Empty { get; } = new([]);

    internal int Count => _fields.Length;

    internal StatField this[int index] => _fields[index];

    internal IReadOnlyList<StatField> All => _fields;

    /// <summary>The index of a field's parent in this set, or -1 for a field that is none's child here.</summary>
    internal int ParentOf(int index) => _parents[index];

    internal bool IsChild(int index) => _parents[index] >= 0;

    /// <summary>A field's children, in name order.</summary>
    internal ReadOnlySpan<int> ChildrenOf(int index) => _children[index];

    /// <summary>Every field in name order (ordinal, like Python's sorted()).</summary>
    internal ReadOnlySpan<int> ByName => _byName;

    /// <summary>The fields that are no child here, in name order.</summary>
    internal ReadOnlySpan<int> TopLevel => _topLevel;

    /// <summary>The index of the field of this name, or -1.</summary>
    internal int IndexOf(string name)
    {
        for (int i = 0; i < _fields.Length; i++)
        {
            if (_fields[i].Name == name)
                return i;
        }
        return -1;
    }
}
