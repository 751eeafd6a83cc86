namespace KvmStat.Sources.Tracepoints;

/// <summary>One value-to-name pair of a <c>__print_symbolic</c> table.</summary>
internal readonly record struct SymbolicEntry(long Value, string Name);
