namespace KvmStat.Sources.Tracing;

/// <summary>One value-to-name pair of a <c>__print_symbolic</c> table.</summary>
internal readonly record struct SymbolicEntry(long Value, string Name);
