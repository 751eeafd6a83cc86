using KvmStat.Sources;

namespace KvmStat.Tests.Infrastructure;

/// <summary>A source whose values the test sets.</summary>
internal sealed class FakeSource(params StatField[] fields) : IStatsSource
{
    internal long[] Values { get; } = new long[fields.Length];

    public string Name => "fake";

    public IReadOnlyList<StatField> Fields => fields;

    internal void Set(string name, long value)
    {
        for (int i = 0; i < fields.Length; i++)
        {
            if (fields[i].Name == name)
                Values[i] = value;
        }
    }

    public void Read(Span<long> values) => Values.CopyTo(values);

    internal bool Disposed { get; private set; }

    public void Dispose() => Disposed = true;

    /// <summary>A counter; a child's label is what its name adds to its parent's in parentheses.</summary>
    internal static StatField Counter(string name, string? parent = null) =>
        new(name, parent, StatKind.Counter, FieldOrigin.Tracepoint, Label: parent is null ? null : name[(parent.Length + 1)..^1]);

    internal static StatField Gauge(string name) => new(name, null, StatKind.Gauge, FieldOrigin.Debugfs);
}
