namespace KvmStat.Sources.Tracing;

/// <summary>One field of a tracepoint record, from the "field:" lines of its format file.</summary>
internal sealed record TraceField(string Name, int Size, bool Signed);

/// <summary>One value-to-name pair of a <c>__print_symbolic</c> table.</summary>
internal readonly record struct SymbolicEntry(long Value, string Name);

/// <summary>
/// A <c>__print_symbolic(REC->field ..., { value, "name" }, ...)</c> table from a format's print fmt.
/// <paramref name="Ordinal"/> counts the tables over the same field (kvm_exit on x86 has two: VMX, then SVM).
/// </summary>
internal sealed record SymbolicTable(string Field, int Ordinal, IReadOnlyList<SymbolicEntry> Entries);

/// <summary>What a tracepoint's format file says about it.</summary>
internal sealed record TraceFormat(
    string Name,
    int Id,
    IReadOnlyList<TraceField> Fields,
    string PrintFormat,
    IReadOnlyList<SymbolicTable> Tables)
{
    internal TraceField? FindField(string name)
    {
        foreach (TraceField field in Fields)
        {
            if (field.Name == name)
                return field;
        }
        return null;
    }
}
