using System.Collections;

namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// The tracepoint fields an engine counts, in its order, linked once: their statistics in one
/// <see cref="FieldSet"/> (each child's parent and each parent's children by index), beside what
/// counts each (<see cref="TracepointField"/>). Nothing that counts them looks fields up by name.
/// </summary>
internal sealed class TracepointFields : IReadOnlyList<TracepointField>
{
    private readonly TracepointField[] _fields;
    private readonly int[][] _children;

    internal TracepointFields(IEnumerable<TracepointField> fields)
    {
        _fields = [.. fields];
        Set = new FieldSet([.. _fields.Select(f => f.ToStatField())]);
        _children = new int[_fields.Length][];
        for (int i = 0; i < _fields.Length; i++)
        {
            // In the engine's order (the set gives name order): each child's index is its counter.
            _children[i] = Set.ChildrenOf(i).ToArray();
            Array.Sort(_children[i]);
        }
    }

    /// <summary>The fields as statistics, linked.</summary>
    internal FieldSet Set { get; }

    public int Count => _fields.Length;

    public TracepointField this[int index] => _fields[index];

    /// <summary>The children of a field (the exit reasons of its tracepoint), in the engine's order.</summary>
    internal IReadOnlyList<int> ChildrenOf(int index) => _children[index];

    public IEnumerator<TracepointField> GetEnumerator() => ((IEnumerable<TracepointField>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
