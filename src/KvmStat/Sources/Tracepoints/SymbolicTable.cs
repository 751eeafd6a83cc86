namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// A <c>__print_symbolic(REC->field ..., { value, "name" }, ...)</c> table from a format's print fmt.
/// <paramref name="Ordinal"/> counts the tables over the same field (kvm_exit on x86 has two: VMX, then SVM).
/// </summary>
internal sealed record SymbolicTable(string Field, int Ordinal, IReadOnlyList<SymbolicEntry> Entries);
