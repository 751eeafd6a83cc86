namespace KvmStat.Sources.Tracepoints;

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
