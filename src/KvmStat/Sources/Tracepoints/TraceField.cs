namespace KvmStat.Sources.Tracepoints;

/// <summary>One field of a tracepoint record, from the "field:" lines of its format file.</summary>
internal sealed record TraceField(string Name, int Size, bool Signed, int Offset = -1);
